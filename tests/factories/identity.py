import base64

import factory
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.identity import oidc_clients
from mutualis.identity.models import Membership, Role, User

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    first_name = "Camille"
    last_name = "Martin"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_member(organisation, email: str, roles: list[str] = ()) -> Membership:
    """A user with a membership of ``organisation`` carrying ``roles``."""
    user = User.objects.filter(email=email).first() or UserFactory(email=email)
    # Test set-up writes rows of several members: outside any request scope.
    with scopes_disabled():
        membership = Membership.objects.create(user=user, organisation=organisation)
        membership.roles.set(Role.objects.filter(code__in=roles))
    return membership


def api_client_token(
    client, *, organisation=None, company=None, scopes=("api:read", "api:write"), name="Logiciel"
) -> tuple[str, str]:
    """A new API client of ``organisation`` (or ``company``) with ``scopes``, and the bearer
    token it gets from the platform's token endpoint (client credentials)."""
    api_client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name=name,
        scopes=list(scopes),
        grant_types=["client_credentials"],
        organisation_id=organisation.pk if organisation else None,
        company_id=company.pk if company else None,
    )
    basic = base64.b64encode(f"{api_client.pk}:{secret}".encode()).decode()
    response = client.post(
        reverse("idp:oidc:token"),
        {"grant_type": "client_credentials", "scope": " ".join(scopes)},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    return api_client.pk, response.json()["access_token"]
