import uuid
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mutualis.core import invitations
from mutualis.core.models import OrganisationOwned
from mutualis.core.search import fold


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


# The related managers of models on django-scopes' untyped ScopedManager cannot be resolved
# (whether mypy reports it depends on the models it sees: unused-ignore allowed).
class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing, unused-ignore]
    """One account per person: agents, business representatives, citizens, operator staff.

    The e-mail address is the login. ``audit_pseudonym`` names the person in the hashed
    audit fields, so that erasing the person never breaks a chain.
    """

    email = models.EmailField(_("e-mail address"), unique=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("Django admin access"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    audit_pseudonym = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # E-mail address and names folded by ``core.search.fold``, for the operator's search.
    search_text = models.TextField(blank=True, default="", editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = fold(f"{self.email} {self.first_name} {self.last_name}")
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"email", "first_name", "last_name"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    def check_password(self, raw_password: str) -> bool:
        # The fast hash of client secrets (mutualis.identity.hashers) is in
        # PASSWORD_HASHERS so that secrets verify; a password stored with it (a row
        # written by hand, a bad import) is refused rather than checked cheaply.
        if self.password.startswith("client_secret_sha256$"):
            return False
        return super().check_password(raw_password)


class Role(models.Model):
    """A role a membership can carry. Services add their own roles as rows."""

    ORG_ADMIN = "org_admin"
    BUYER = "buyer"
    COMMISSION_MEMBER = "commission_member"
    SIGNATORY = "signatory"
    SECRETARY = "secretary"

    code = models.SlugField(_("code"), max_length=40, primary_key=True)
    label = models.CharField(_("label"), max_length=120)
    service = models.ForeignKey(
        "core.Service", on_delete=models.PROTECT, null=True, blank=True, related_name="roles"
    )
    position = models.PositiveSmallIntegerField(default=100)
    # A person holding this role in any active membership must have a second factor;
    # the operator changes it in the back office.
    requires_mfa = models.BooleanField(_("requires a second factor"), default=False)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label


class Membership(OrganisationOwned):
    """A person in an organisation, with roles: the actor of every action taken there."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    roles = models.ManyToManyField(Role, blank=True, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.organisation_id}"

    def role_codes(self) -> set[str]:
        # Uses the prefetched roles when the selector loaded them.
        return {role.code for role in self.roles.all()}

    def has_role(self, code: str) -> bool:
        return code in self.role_codes()


class Invitation(OrganisationOwned, invitations.Invitation):
    """An invitation to act for an organisation, sent by e-mail with a single-use link
    (the token, its digest and its lifetime: ``core.invitations``). The e-mail address
    is personal data; it is overwritten when the person deletes their account.
    """

    roles = models.ManyToManyField(Role, blank=True, related_name="+")
    invited_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", verbose_name=_("invited by")
    )
    # The membership the invitation gave (or gave back): where it led, for history.
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "email"], name="invitation_org_email")]
        constraints = [
            models.CheckConstraint(
                condition=invitations.not_both_condition(),
                name="invitation_accepted_or_revoked",
            )
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk}@{self.organisation_id}"


class ApiClient(models.Model):
    """An OpenID Connect client that calls the API for programs, and who it acts for.

    It acts for exactly one member organisation or one company (a check constraint): its
    requests run in that scope and in no other. The scopes it may ask tokens for
    (``api:read``, ``api:write``) are the client's own, on allauth's row. Registered by the
    operator (``mutualis.identity.oidc_clients.register_client``).
    """

    client = models.OneToOneField(
        "allauth_idp_oidc.Client",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="api_access",
    )
    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # By name: identity imports no other context.
    company = models.ForeignKey(
        "companies.Company", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Off: its tokens are refused at once, without deleting the client.
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(organisation__isnull=False, company__isnull=True)
                    | models.Q(organisation__isnull=True, company__isnull=False)
                ),
                name="api_client_acts_for_one",
            )
        ]

    def __str__(self) -> str:
        return str(self.client_id)
