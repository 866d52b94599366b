"""What the deposits context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.api import register_router
from mutualis.core.files import register_owner
from mutualis.core.registry import Access

# --- The deposit API and the buyer's deposit register (deposit-api) ----------------------
# admission_correspondents declares the depositors to messaging (its sources of companies).
from . import admission_correspondents, opening, proof_tasks  # noqa: F401
from . import tasks as deposit_tasks
from .api import router as deposit_api_router

# /api/v1/deposits…: a company's representatives (session) or API clients (bearer).
register_router("", deposit_api_router)

# The buyer's deposit register, under /o/<slug>/deposits/: buyers and commission members.
registry.declare_routes(prefixes={"deposit_register:": Access.TENANT})
registry.declare_urls(registry.Urls("deposits/", "mutualis.deposits.register_urls", tenant="o"))


registry.declare_periodic_job(
    registry.PeriodicJob(
        "abandon_stale_deposits",
        deposit_tasks.abandon_stale_deposits,
        IntervalTrigger(hours=1),
        "Mark abandoned the deposits left receiving for 24 hours; delete their partial files.",
    )
)


def _register_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import register_views

    return register_views.section_context(request, consultation)


registry.declare_consultation_section(
    registry.ConsultationSection(
        "deposit_register", "buyer", "deposits/section_register.html", _register_section, 50
    )
)


def _admissions_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import admission_views

    return admission_views.section_context(request, consultation)


# A two-phase procedure's candidates (admissions.py), and its offer phase's way back.
registry.declare_consultation_section(
    registry.ConsultationSection(
        "deposit_admissions",
        "buyer",
        "deposits/section_admissions.html",
        _admissions_section,
        51,
    )
)


# --- The key ceremony (keys.py, key_views.py) ------------------------------------------
# Holders enrol under /o/<slug>/deposits/keys/, buyers make each consultation's opening
# key under /o/<slug>/deposits/consultations/<id>/key/: agents of the member in the path.
registry.declare_routes(prefixes={"deposits_keys:": Access.TENANT})
registry.declare_urls(registry.Urls("deposits/", "mutualis.deposits.key_urls", tenant="o"))


def _opening_key_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import key_views

    return key_views.section_context(request, consultation)


registry.declare_consultation_section(
    registry.ConsultationSection(
        "deposits_opening_key", "buyer", "deposits/keys_section.html", _opening_key_section, 50
    )
)


def _holders_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.has_role("commission_member"):
        return None
    return reverse("deposits_keys:holders", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(
    registry.MenuEntry("deposits_keys", _("Opening keys"), _holders_url, 35)
)


# --- Opening (opening.py, opening_views.py, opening_urls.py) ---------------------------
registry.declare_routes(prefixes={"deposits_opening:": Access.TENANT})
registry.declare_urls(registry.Urls("deposits/", "mutualis.deposits.opening_urls", tenant="o"))
# Opened files, the register and the minutes: read only through the opening's own views,
# which audit every read; the generic download view serves none of them.
register_owner(opening.OWNER_KIND, can_read=opening.nobody_reads)


def _opening_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    membership = getattr(request, "membership", None)
    if not opening.can_attend(membership):
        return None
    key = opening.opening_key_of(consultation)
    if key is None:
        return None
    return {
        "opening_url": reverse(
            "deposits_opening:session",
            kwargs={"org": consultation.organisation.slug, "pk": consultation.pk},
        ),
        "opening_session": opening.session_of(consultation),
        "opening_key": key,
    }


registry.declare_consultation_section(
    registry.ConsultationSection(
        "deposits.opening", "buyer", "deposits/opening_section.html", _opening_section, 60
    )
)


# --- Proof of deposit (proof-log): the public log's roots, the receipt PDF, the page on
# how deposits work -----------------------------------------------------------------------

registry.declare_routes(
    prefixes={
        # How deposits work, and the published roots and their tokens: public facts.
        "deposits_proof:": Access.PUBLIC,
        # A company's own receipt and inclusion proof, under /c/<siren>/deposits/.
        "company_deposits_proof:": Access.TENANT,
    }
)


def _proof_public_urls() -> Any:
    from . import proof_urls

    return proof_urls.public()


def _proof_company_urls() -> Any:
    from . import proof_urls

    return proof_urls.company()


registry.declare_urls(registry.Urls("deposits/", _proof_public_urls))
registry.declare_urls(registry.Urls("deposits/", _proof_company_urls, tenant="c"))


def _log_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from .proof_views import log_section_context

    return log_section_context(request, consultation)


# After the deadline only: the root, count, closing time and token of each closed section.
for _audience in ("public", "buyer"):
    registry.declare_consultation_section(
        registry.ConsultationSection(
            f"deposits_log_{_audience}", _audience, "deposits/proof_section.html", _log_section, 50
        )
    )

registry.declare_periodic_job(
    registry.PeriodicJob(
        "deposits_close_log_sections",
        proof_tasks.close_due_log_sections,
        IntervalTrigger(minutes=1),
        "Close, time-stamp and publish the deposit log of consultations whose deadline passed.",
    )
)


def _receipt_signing_key(stdout: Any) -> None:
    from django.utils.translation import gettext

    from .receipt_pdf import ensure_signing_key

    created = ensure_signing_key()
    for path in created:
        stdout.write(gettext("Receipt signing: created %(path)s.") % {"path": path})
    if not created:
        stdout.write(gettext("Receipt signing: its key and certificate exist."))


# Created when missing, never replaced (a qualified certificate is the operator's act).
registry.declare_setup_step(
    registry.Step(
        "deposits.receipt_signing_key",
        46,
        _receipt_signing_key,
        _("create the receipt signing key and certificate if missing"),
    )
)


# --- Deposit page (company side; deposit-page) --------------------------------------------

registry.declare_routes(
    prefixes={
        # A company's deposit page for a consultation, under /c/<siren>/deposits/: its
        # representatives only; its deposits only.
        "company_deposits:": Access.TENANT,
    }
)
registry.declare_urls(registry.Urls("deposits/", "mutualis.deposits.company_urls", tenant="c"))


def _respond_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import company_views

    return company_views.public_section(request, consultation)


# "Respond electronically" on the public page of a consultation: server time, deadline,
# and the deposit page of each company the signed-in person represents.
registry.declare_consultation_section(
    registry.ConsultationSection(
        "deposits_respond", "public", "deposits/company_section_respond.html", _respond_section, 10
    )
)


# --- Deposit simulation and availability evidence (availability.py) ----------------------


def _test_consultation(stdout: Any) -> None:
    from django.utils.translation import gettext

    from . import availability

    consultation_id, _key, done = availability.ensure_test_consultation()
    if consultation_id is None:
        stdout.write(gettext("Test consultation: none until the operator's organisation exists."))
    else:
        stdout.write(
            gettext("Test consultation %(id)s: %(done)s.")
            % {"id": consultation_id, "done": ", ".join(done)}
        )


# On every instance (the buyer-profile arrêté asks for a deposit simulation), and in the
# demo once its operator exists.
registry.declare_setup_step(
    registry.Step(
        "deposits.test_consultation",
        70,
        _test_consultation,
        _("make the operator's test consultation and its opening key if missing"),
    )
)
registry.declare_demo_step(registry.Step("deposits.test_consultation", 95, _test_consultation))


def _probe_client(stdout: Any) -> None:
    from django.utils.translation import gettext

    from . import availability, probe_http

    if not availability.probes_over_http():
        stdout.write(
            gettext("Availability probe: through the services (MUTUALIS_PROBE_URL empty).")
        )
        return
    _client, created = probe_http.ensure_client(availability.probe_company().pk)
    if created:
        stdout.write(gettext("Availability probe: its API client registered."))
    else:
        stdout.write(gettext("Availability probe: its API client exists."))


registry.declare_setup_step(
    registry.Step(
        "deposits.probe_client",
        71,
        _probe_client,
        _("register the availability probe's API client if missing"),
    )
)

registry.declare_periodic_job(
    registry.PeriodicJob(
        "deposits_probe_deposit_path",
        deposit_tasks.probe_deposit_path,
        IntervalTrigger(minutes=1),
        "In the last hour before any deadline: a synthetic deposit on the test consultation, "
        "kept in the public availability record with the clock's offset.",
    )
)


def _availability_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import availability_views

    return availability_views.section_context(request, consultation)


registry.declare_consultation_section(
    registry.ConsultationSection(
        "deposits_availability",
        "public",
        "deposits/availability_section.html",
        _availability_section,
        55,
    )
)
