"""A real IMAP server for the return channel's tests: Debian's dovecot, started for the
test session on a free loopback port with one mailbox user (``.ci/run`` installs
``dovecot-imapd``). Skipped where dovecot is not installed or the tests do not run as
root (dovecot's master process needs it)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
USER = "actes"
PASSWORD = "secret-for-tests"

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def dovecot():
    if not os.path.exists(DOVECOT) or os.geteuid() != 0:
        pytest.skip("dovecot-imapd is not installed, or the tests do not run as root")
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
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield {"host": "127.0.0.1", "port": port, "user": USER, "password": PASSWORD}
    subprocess.run([DOVECOT, "-c", str(config), "stop"], check=False)  # noqa: S603 - the same
    shutil.rmtree(root, ignore_errors=True)
