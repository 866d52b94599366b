from .api import ApiWrite
from .audit import AuditChainHead, AuditCheckpoint, AuditEvent, AuditEventContext, AuditSubject
from .files import StoredFile
from .instance import Instance
from .mail import EmailAttachment, OutgoingEmail
from .organisations import (
    AdhesionStatus,
    FeeCategory,
    Organisation,
    OrganisationKind,
    Service,
    Subscription,
)
from .reference import CpvCode
from .tenancy import OrganisationOwned, TwoPartyOwned

__all__ = [
    "AdhesionStatus",
    "ApiWrite",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditEventContext",
    "AuditSubject",
    "CpvCode",
    "EmailAttachment",
    "FeeCategory",
    "Instance",
    "Organisation",
    "OrganisationKind",
    "OrganisationOwned",
    "OutgoingEmail",
    "Service",
    "StoredFile",
    "Subscription",
    "TwoPartyOwned",
]
