"""Errors of the identity context: a stable ``code``, a translatable ``message``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class IdentityError(MutualisError):
    code = "identity_error"


class UserNotFound(IdentityError):
    code = "user_not_found"
    field_name = "email"
    message = _("No account has this e-mail address. The person must sign up first.")


class UserInactive(IdentityError):
    code = "user_inactive"
    field_name = "email"
    message = _("This account is deactivated.")


class MembershipExists(IdentityError):
    code = "membership_exists"
    field_name = "email"
    message = _("This person is already a member of this organisation: change their roles.")


class UnknownRole(IdentityError):
    code = "unknown_role"
    field_name = "roles"
    message = _("Unknown role.")


class OwnMembership(IdentityError):
    code = "own_membership"
    message = _("You cannot deactivate the membership you are acting through.")


class MembershipNotActive(IdentityError):
    code = "membership_not_active"
    message = _("This membership is already inactive.")


class MembershipAlreadyActive(IdentityError):
    code = "membership_already_active"
    message = _("This membership is already active.")


class LastOrgAdmin(IdentityError):
    code = "last_org_admin"
    message = _("The organisation must keep at least one administrator: appoint another one first.")


class AlreadyMember(IdentityError):
    code = "already_member"
    message = _("You already act for this organisation.")


# --- Account deletion ------------------------------------------------------------------


class LastOrgAdminOfAccount(IdentityError):
    code = "last_org_admin_account"
    message = _(
        "You are the last administrator of %(organisations)s: appoint another administrator "
        "first, then delete your account."
    )
