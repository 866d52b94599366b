import factory
from faker import Faker
from stdnum.fr import siren

from mutualis.core.models import Organisation

_fake = Faker("fr_FR")


def valid_siren(n: int) -> str:
    """A valid SIREN derived from a number (Luhn check digit from python-stdnum)."""
    body = f"{200000000 + n:09d}"[:8]
    return body + siren.calc_check_digit(body)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"{_fake.city()} {n}")
    kind = "commune"
    siren = factory.Sequence(lambda n: valid_siren(n + 1))
    insee_code = factory.Sequence(lambda n: f"{90000 + n:05d}")
    population = 500
    slug = factory.Sequence(lambda n: f"organisation-{n}")
