"""The observatory's one crossing: the refresh reads every member's public procedures.

The figures are about the whole territory, so the refresh reads across members. It
reads public facts only — consultations in a public state (published, closed,
cancelled), never a draft, a scheduled one, the operator's test consultation or the
offer phase of a two-phase procedure as a procedure of its own; awards once their
letters were sent (notified, standstill over, contracted), never a draft decision nor
an abandoned one; and the size and département that winners state in their procurement
profile for this very purpose (``companies.CompanyProfile``). It writes only the
observatory's own scratch table.

It is one ``INSERT … SELECT`` so that 100,000 procedures are read and written by the
database in one statement, not row by row in Python; the two expressions that differ
between PostgreSQL and SQLite (the year in Paris, a difference of instants in days) are
chosen by the connection's vendor.
"""

from __future__ import annotations

from django.db import connection

from mutualis.companies.models import SME_SIZES, CompanyProfile
from mutualis.contracts.models import Award, AwardOutcome, AwardState
from mutualis.core import registry
from mutualis.core.models import Organisation
from mutualis.procurement.models import PUBLIC_STATES, Consultation, State

from .models import ProcedureFact

# Letters sent: from then on the award is public (DECP, OCDS).
NOTIFIED_AWARD_STATES = (AwardState.NOTIFIED, AwardState.STANDSTILL_OVER, AwardState.CONTRACTED)


def _quoted(values: object) -> str:
    # Constants of the code's own choices (never input): quoted for the SQL text.
    return ", ".join(f"'{value}'" for value in values)  # type: ignore[attr-defined]


def _year_in_paris(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(YEAR FROM {column} AT TIME ZONE 'Europe/Paris') AS integer)"
    # Django's own SQLite function, which its ExtractYear uses (UTC stored, Paris read).
    return f"CAST(django_datetime_extract('year', {column}, 'Europe/Paris', 'UTC') AS integer)"


def _days_between(start: str, end: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({end} - {start})) / 86400.0"
    return f"julianday({end}) - julianday({start})"


def facts_sql() -> str:
    """The statement that writes a refresh's facts (its one parameter: the refresh)."""
    consultation = Consultation._meta.db_table
    award = Award._meta.db_table
    profile = CompanyProfile._meta.db_table
    organisation = Organisation._meta.db_table
    spanned = Organisation.departements_spanned.through._meta.db_table
    awarded = f"aw.outcome = '{AwardOutcome.AWARDED}'"
    # The buyer's département: itself, its département, or one an EPCI spans.
    local = (
        f"(p.main_departement_id = CASE WHEN o.kind = 'departement' THEN o.id"  # noqa: S608
        f" ELSE o.departement_id END OR EXISTS (SELECT 1 FROM {spanned} s"
        f" WHERE s.from_organisation_id = o.id"
        f" AND s.to_organisation_id = p.main_departement_id))"
    )
    fields = (
        "refresh_id, consultation_id, organisation_id, year, category, procedure,"
        " cpv_division, amount_awarded, amount_estimated, wins, wins_sized, wins_sme,"
        " wins_located, wins_local, responses, delay_days"
    )
    # Each awarded consultation's procedure: its chain walked up to its first
    # consultation (an offer phase's parent; a round's parent, itself maybe a round).
    roots = (
        "WITH RECURSIVE up(id, cur, parent) AS ("  # noqa: S608
        f" SELECT k.id, k.id, k.parent_id FROM {consultation} k"
        f" WHERE k.id IN (SELECT consultation_id FROM {award})"
        " UNION ALL"
        f" SELECT up.id, q.id, q.parent_id FROM up JOIN {consultation} q ON q.id = up.parent"
        ") SELECT id, cur AS root_id FROM up WHERE parent IS NULL"
    )
    # Table and column names and the code's own constants only: no input in the text.
    return (
        f"INSERT INTO {ProcedureFact._meta.db_table} ({fields})"  # noqa: S608
        f" SELECT %s, c.id, c.organisation_id, {_year_in_paris('c.published_at')},"
        " c.category, c.procedure, substr(c.main_cpv, 1, 2),"
        " a.amount,"
        f" CASE WHEN COALESCE(a.wins, 0) = 0 AND c.state <> '{State.CANCELLED}'"
        " THEN c.estimated_value END,"
        " COALESCE(a.wins, 0), COALESCE(a.wins_sized, 0), COALESCE(a.wins_sme, 0),"
        " COALESCE(a.wins_located, 0), COALESCE(a.wins_local, 0),"
        " a.bidders,"
        f" CASE WHEN a.first_letters IS NOT NULL"
        f" THEN {_days_between('c.published_at', 'a.first_letters')} END"
        f" FROM {consultation} c LEFT JOIN ("
        # Awards of the procedure itself, of its offer phase or of its negotiation rounds,
        # grouped by the procedure (the first consultation of the chain).
        " SELECT r.root_id AS root_id,"
        f" SUM(CASE WHEN {awarded} THEN aw.amount END) AS amount,"
        f" SUM(CASE WHEN {awarded} THEN 1 ELSE 0 END) AS wins,"
        f" SUM(CASE WHEN {awarded} AND p.size <> '' THEN 1 ELSE 0 END) AS wins_sized,"
        f" SUM(CASE WHEN {awarded} AND p.size IN ({_quoted(sorted(SME_SIZES))})"
        " THEN 1 ELSE 0 END) AS wins_sme,"
        f" SUM(CASE WHEN {awarded} AND p.main_departement_id IS NOT NULL"
        " THEN 1 ELSE 0 END) AS wins_located,"
        f" SUM(CASE WHEN {awarded} AND {local} THEN 1 ELSE 0 END) AS wins_local,"
        " MAX(aw.bidders) AS bidders,"
        f" MIN(CASE WHEN {awarded} THEN aw.notified_at END) AS first_letters"
        f" FROM {award} aw"
        f" JOIN ({roots}) r ON r.id = aw.consultation_id"
        f" JOIN {organisation} o ON o.id = aw.organisation_id"
        f" LEFT JOIN {profile} p ON p.company_id = aw.company_id"
        f" WHERE aw.state IN ({_quoted(NOTIFIED_AWARD_STATES)})"
        " GROUP BY r.root_id"
        " ) a ON a.root_id = c.id"
        " WHERE c.parent_id IS NULL AND c.published_at IS NOT NULL"
        f" AND c.is_test = %s AND c.state IN ({_quoted(PUBLIC_STATES)})"
    )


@registry.crossing
def write_procedure_facts(*, refresh_id: int) -> int:
    """The observatory's refresh counts the public procedures of every member (published,
    closed or cancelled consultations, offer phases folded into their procedure), their
    notified awards and the size and département their winners state, to publish
    territory-wide figures; it writes only the observatory's own rows."""
    with connection.cursor() as cursor:
        cursor.execute(facts_sql(), [refresh_id, False])
        return int(cursor.rowcount)
