import factory
from django_scopes import scopes_disabled

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
