"""Deposit simulation and availability evidence.

The operator's permanent test consultation (``procurement.simulation``) takes
sealed deposits like any other: its opening key is made here, its private half thrown
away at once, so that what is deposited there is never opened, by anybody.

Around every real deadline the platform probes its own deposit path: in the last hour
before any published consultation's deadline, once a minute, a synthetic deposit (a
small file, age-encrypted to the test key, then started, sent, completed and
acknowledged) by the platform's probe company. The probe goes through the platform's
public address as a company's software does (``probe_http``: token endpoint, then the
deposit API), so that it fails when the web server or the proxy in front of it does;
where ``MUTUALIS_PROBE_URL`` is empty it calls the services in the worker, and the public
record says so. Each probe is kept in a public record (``AvailabilityProbe``) with its
duration, its outcome and the server clock's offset from its time source (chrony, or
whether systemd's NTP client is synchronised), so that a buyer can prove the platform
worked when a business says it could not deposit — or see honestly that it did not.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pyrage  # type: ignore[import-untyped]
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scope

from mutualis.companies.models import Company, CompanyStatus
from mutualis.procurement import simulation as procurement_simulation

from . import crossings, probe_http, services
from .models import AvailabilityProbe, OpeningKey, Phase

# SIREN 000 000 000: never given by INSEE (a valid Luhn number nobody holds).
PROBE_SIREN = "000000000"
PROBE_CLIENT = "availability-probe"
PROBE_WINDOW = timedelta(hours=1)
PROBE_PLAINTEXT = b"Mutualis availability probe: a synthetic deposit, never opened.\n"
DETAIL_LENGTH = 300

Runner = Callable[[list[str]], str | None]


# --- The test consultation's key and the probe company -----------------------------------


def ensure_test_key(consultation_id: int, organisation_id: int) -> tuple[OpeningKey, bool]:
    """The test consultation's opening key, made when missing: (key, created). The
    private half is generated and dropped here; no share, no escrow."""
    with scope(organisation=organisation_id):
        existing = OpeningKey.objects.filter(consultation_id=consultation_id).first()
        if existing is not None:
            return existing, False
        identity = pyrage.x25519.Identity.generate()
        key = OpeningKey.objects.create(
            organisation_id=organisation_id,
            consultation_id=consultation_id,
            recipient=str(identity.to_public()),
            threshold=1,
            share_count=0,
            created_by=None,
        )
        del identity
        return key, True


def ensure_test_consultation(
    *, now: datetime | None = None
) -> tuple[int | None, OpeningKey | None, list[str]]:
    """The test consultation and its key, made or rolled forward: (id, key, what was
    done)."""
    consultation, outcome = procurement_simulation.ensure_test_consultation(now=now)
    if consultation is None:
        return None, None, [outcome]
    key, created = ensure_test_key(consultation.pk, consultation.organisation_id)
    return consultation.pk, key, [outcome, "key_created" if created else "key_kept"]


def probe_company() -> Company:
    """The platform's own company for the probes (verified: it is the platform)."""
    company, _created = Company.objects.get_or_create(
        siren=PROBE_SIREN,
        defaults={
            "name": str(_("Availability probe of the platform")),
            "status": CompanyStatus.VERIFIED,
            "verified_at": timezone.now(),
        },
    )
    return company


# --- The clock ------------------------------------------------------------------------------


def _run(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 (fixed commands, no input)
            command, capture_output=True, text=True, timeout=2, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def clock_offset(run: Runner = _run) -> tuple[float | None, str]:
    """The system clock's offset from its time source in milliseconds (positive: ahead),
    and the source; (None, what is known) when no offset can be read."""
    tracking = run(["chronyc", "-c", "tracking"])
    if tracking:
        fields = tracking.strip().split(",")
        # -c tracking: reference id, name, stratum, reference time, system time offset
        # (seconds, positive when the system clock is fast), last offset, …
        try:
            offset = float(fields[4]) * 1000
        except (IndexError, ValueError):
            offset = None
        if offset is not None:
            return offset, f"chrony ({fields[1][:60]})"
    synchronised = run(["timedatectl", "show", "--property=NTPSynchronized", "--value"])
    if synchronised:
        state = "yes" if synchronised.strip() == "yes" else "no"
        return None, f"systemd-timesyncd (synchronised: {state})"
    return None, "unknown"


# --- The probe ------------------------------------------------------------------------------


def _deposit_once(consultation_id: int, recipient: str) -> str:
    company = probe_company()
    depositor = services.Depositor(company_id=company.pk, api_client_id=PROBE_CLIENT)
    key = f"probe-{uuid.uuid4().hex}"
    deposit, _created = services.start_deposit(
        depositor,
        consultation_id=consultation_id,
        lot_id=None,
        phase=Phase.OFFER,
        idempotency_key=key,
    )
    ciphertext = pyrage.encrypt(PROBE_PLAINTEXT, [pyrage.x25519.Recipient.from_str(recipient)])
    declaration = services.FileDeclaration(
        name="sonde.txt",
        content_type="text/plain",
        kind="offer",
        plaintext_size=len(PROBE_PLAINTEXT),
        plaintext_sha256=hashlib.sha256(PROBE_PLAINTEXT).hexdigest(),
        ciphertext_size=len(ciphertext),
    )
    row, _created = services.add_file(depositor, deposit, declaration, idempotency_key=f"{key}-f")
    services.receive_chunk(
        depositor,
        deposit,
        row.pk,
        offset=0,
        length=len(ciphertext),
        stream=io.BytesIO(ciphertext),
    )
    done = services.complete(depositor, deposit)
    return done.reference


def probes_over_http() -> bool:
    return bool(settings.MUTUALIS_PROBE_URL)


def _deposit_over_http(consultation_id: int) -> str:
    client, _created = probe_http.ensure_client(probe_company().pk)
    return probe_http.deposit(settings.MUTUALIS_PROBE_URL, client, consultation_id, PROBE_PLAINTEXT)


def probe(*, now: datetime | None = None, run: Runner = _run) -> AvailabilityProbe:
    """One synthetic deposit on the test consultation, recorded whatever happens."""
    now = now or timezone.now()
    offset, source = clock_offset(run)
    started = time.monotonic()
    ok, detail = False, ""
    try:
        consultation_id, key, _done = ensure_test_consultation(now=now)
        if consultation_id is None or key is None:
            detail = "No test consultation: the operator's organisation does not exist yet."
        else:
            if probes_over_http():
                reference = _deposit_over_http(consultation_id)
            else:
                reference = _deposit_once(consultation_id, key.recipient)
            ok, detail = True, reference
    except Exception as error:
        detail = f"{type(error).__name__}: {error}"
    duration = round((time.monotonic() - started) * 1000)
    return AvailabilityProbe.objects.create(
        probed_at=now,
        ok=ok,
        duration_ms=duration,
        clock_offset_ms=offset,
        clock_source=source[:100],
        detail=detail[:DETAIL_LENGTH],
    )


def probe_if_a_deadline_is_near(*, now: datetime | None = None) -> AvailabilityProbe | None:
    """The periodic job (every minute): a probe when a published consultation's deadline
    falls within the next hour, nothing otherwise."""
    now = now or timezone.now()
    if not crossings.deadline_between(now, now + PROBE_WINDOW):
        return None
    return probe(now=now)


# --- The public record ----------------------------------------------------------------------


def probes_between(start: datetime, end: datetime) -> list[AvailabilityProbe]:
    return list(
        AvailabilityProbe.objects.filter(probed_at__gte=start, probed_at__lte=end).order_by(
            "probed_at", "pk"
        )
    )


def recent_probes(limit: int = 120) -> list[AvailabilityProbe]:
    return list(AvailabilityProbe.objects.order_by("-probed_at", "-pk")[:limit])
