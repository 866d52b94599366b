"""Fixtures shared by integration tests of several files.

The legality network: the ministry's stand-in on a loopback port, its test PKI, a
return Maildir, an enrolled member with its clerk, and a real IMAP server (dovecot)."""

from tests.factories.imap import dovecot  # noqa: F401
from tests.factories.pes import (  # noqa: F401
    accountant,
    pes_gateway,
    pes_member,
    pes_pki,
    pes_signer,
)
from tests.factories.standin import (  # noqa: F401
    clerk,
    maildir,
    member,
    standin,
    standin_pki,
)
