from .audit import AuditChainHead, AuditCheckpoint, AuditEvent, AuditEventContext, AuditSubject
from .files import StoredFile
from .mail import OutgoingEmail
from .organisations import (
    AdhesionStatus,
    FeeCategory,
    Organisation,
    OrganisationKind,
    Service,
    Subscription,
)
from .tenancy import OrganisationOwned

__all__ = [
    "AdhesionStatus",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditEventContext",
    "AuditSubject",
    "FeeCategory",
    "Organisation",
    "OrganisationKind",
    "OrganisationOwned",
    "OutgoingEmail",
    "Service",
    "StoredFile",
    "Subscription",
]
