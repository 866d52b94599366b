import factory
from django_scopes import scopes_disabled
from faker import Faker
from stdnum import luhn

from mutualis.core import audit
from mutualis.core.models import AuditEvent, Organisation

_fake = Faker("fr_FR")


def valid_siren(n: int) -> str:
    """A valid SIREN derived from a number (Luhn check digit from python-stdnum)."""
    body = f"{30000000 + n:08d}"
    return body + luhn.calc_check_digit(body)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"{_fake.city()} {n}")
    kind = "commune"
    siren = factory.Sequence(lambda n: valid_siren(n + 1))
    insee_code = factory.Sequence(lambda n: f"{90000 + n:05d}")
    population = 500
    slug = factory.Sequence(lambda n: f"organisation-{n}")


# The two members of the shared fixtures (tests/conftest.py), by the slug in their URLs.
ORG_A = "commune-a"
ORG_B = "commune-b"


def org_url(name: str, org: str = ORG_A, **kwargs: object) -> str:
    """The URL of an organisation's page (``/o/<slug>/…``), org A's unless told."""
    from django.urls import reverse

    return reverse(name, kwargs={"org": org, **kwargs})


def audit_events(organisation, action: str) -> list[AuditEvent]:
    """The events ``action`` on ``organisation``'s audit chain, in their order."""
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(
                chain=audit.organisation_chain(organisation.pk), action=action
            ).order_by("sequence")
        )
