"""The answers kept for the API's idempotency keys move to the table every context
shares (``core.ApiWrite``, ``mutualis.core.api.idempotency``), where a key is the API
client's own rather than the member's. A row of a member with one API client (the usual
case) becomes that client's; with several, the client is unknown and the row is kept
under ``organisation:<id>``, which no request matches any more. A claim left pending (a
crashed request's, which answered every retry 409) arrives with its lease over: the
next retry takes it over."""

from datetime import timedelta

from django.db import migrations

LEASE = timedelta(minutes=5)


def forward(apps, schema_editor):
    Old = apps.get_model("contracts", "ApiWrite")
    New = apps.get_model("core", "ApiWrite")
    ApiClient = apps.get_model("identity", "ApiClient")
    clients: dict[int, list[str]] = {}
    for organisation_id, client_id in ApiClient.objects.filter(
        organisation__isnull=False
    ).values_list("organisation_id", "client_id"):
        clients.setdefault(organisation_id, []).append(client_id)
    rows = []
    for old in Old.objects.order_by("pk").iterator():
        found = clients.get(old.organisation_id, [])
        caller = found[0] if len(found) == 1 else f"organisation:{old.organisation_id}"
        rows.append(
            New(
                caller=caller,
                key=old.key,
                operation=old.operation,
                request_hash=old.request_hash,
                status=old.status,
                response=old.response,
                created_at=old.created_at,
                lease_until=old.created_at + LEASE if old.status == 0 else None,
            )
        )
    New.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


def backward(apps, schema_editor):
    Old = apps.get_model("contracts", "ApiWrite")
    New = apps.get_model("core", "ApiWrite")
    ApiClient = apps.get_model("identity", "ApiClient")
    members = dict(
        ApiClient.objects.filter(organisation__isnull=False).values_list(
            "client_id", "organisation_id"
        )
    )
    rows = []
    for new in New.objects.order_by("pk").iterator():
        if new.caller.startswith("organisation:"):
            organisation_id = int(new.caller.split(":", 1)[1])
        elif new.caller in members:
            organisation_id = members[new.caller]
        else:
            continue  # a company's client: the old table held none
        rows.append(
            Old(
                organisation_id=organisation_id,
                key=new.key,
                operation=new.operation,
                request_hash=new.request_hash,
                status=new.status,
                response=new.response,
            )
        )
    Old.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0003_archive_retention"),
        ("core", "0021_api_write"),
        ("identity", "0010_seal_second_factor_secrets"),
    ]

    operations = [migrations.RunPython(forward, backward)]
