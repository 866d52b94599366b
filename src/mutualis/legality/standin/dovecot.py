"""A real IMAP server for the return channel's tests and benchmark: Debian's dovecot,
started on a free loopback port with one mailbox user, plaintext login over a plain
connection (loopback only), mail in a Maildir of a temporary directory.

dovecot's master process must run as root; ``available()`` says whether it can be
started here (installed, and this process is root). ``.ci/run`` installs
``dovecot-imapd``; ``tests/factories/imap.py`` and ``bench/imap_acks.py`` start it.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
USER = "actes"
PASSWORD = "secret-for-tests"  # noqa: S105 - the stand-in's, on loopback only

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 0
log_path = {root}/dovecot.log
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclasses.dataclass(frozen=True)
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    root: Path

    def as_dict(self) -> dict[str, str | int]:
        return {"host": self.host, "port": self.port, "user": self.user, "password": self.password}


def available() -> bool:
    return os.path.exists(DOVECOT) and os.geteuid() == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running() -> Iterator[Dovecot]:
    """dovecot running for the time of the block (stopped and its files removed after)."""
    account = pwd.getpwnam("dovecot")
    root = Path(tempfile.mkdtemp(prefix="mutualis-dovecot-"))
    root.chmod(0o755)
    (root / "home").mkdir(mode=0o755)
    os.chown(root / "home", account.pw_uid, account.pw_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, uid=account.pw_uid, gid=account.pw_gid, port=port))
    subprocess.run([DOVECOT, "-c", str(config)], check=True)  # noqa: S603 - Debian's dovecot
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield Dovecot("127.0.0.1", port, USER, PASSWORD, root)
    finally:
        subprocess.run([DOVECOT, "-c", str(config), "stop"], check=False)  # noqa: S603 - the same
        shutil.rmtree(root, ignore_errors=True)
