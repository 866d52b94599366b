"""The demo's process supervision (bin/supervise, bin/demo): a worker or scheduler that
dies is started again, the web server stays up, and stopping the demo stops everything.

Real processes with stand-in commands (shell scripts), no timing assertions: each test
waits for an observable state, with a generous deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 20.0


def _wait_for(condition, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"Never happened: {what}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its parent has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def quick_env():
    return os.environ | {"SUPERVISE_BACKOFF": "0", "SUPERVISE_BACKOFF_MAX": "0"}


def test_a_command_that_exits_is_restarted_and_term_stops_it(tmp_path, quick_env):
    runs = tmp_path / "runs"
    # Fails twice, then stays up (its pid recorded).
    command = _script(
        tmp_path / "flaky",
        f'echo $$ >> {runs}\n[ "$(wc -l < {runs})" -ge 3 ] && exec sleep 300\nexit 3',
    )
    supervisor = subprocess.Popen(  # noqa: S603 - scripts of this repository and of this test
        [ROOT / "bin" / "supervise", "flaky", command],
        env=quick_env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: len(_lines(runs)) >= 3, "the third start")
        last = int(_lines(runs)[-1])
        _wait_for(lambda: _alive(last), "the third run alive")
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=DEADLINE) == 0
        _wait_for(lambda: not _alive(last), "the command stopped with its supervisor")
    finally:
        supervisor.kill()
    log = supervisor.stderr.read()
    assert log.count("supervise: flaky exited (status 3); restarting") == 2


def test_the_pause_between_restarts_grows_to_its_maximum(tmp_path):
    """With a first pause of 1 s, doubling, at most 2 s: the log says 1, 2, 2."""
    runs = tmp_path / "runs"
    command = _script(
        tmp_path / "failing",
        f'echo $$ >> {runs}\n[ "$(wc -l < {runs})" -ge 4 ] && exec sleep 300\nexit 1',
    )
    env = os.environ | {"SUPERVISE_BACKOFF": "1", "SUPERVISE_BACKOFF_MAX": "2"}
    supervisor = subprocess.Popen(  # noqa: S603 - scripts of this repository and of this test
        [ROOT / "bin" / "supervise", "failing", command], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(lambda: len(_lines(runs)) >= 4, "the fourth start")
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=DEADLINE) == 0
    finally:
        supervisor.kill()
    delays = [line.rsplit(" ", 1)[-1] for line in supervisor.stderr.read().splitlines()]
    assert delays == ["1s", "2s", "2s"]


def test_the_demo_keeps_the_web_up_and_restarts_a_dying_worker(tmp_path, quick_env):
    """Given a worker that crashes at once, when the demo runs, then the worker is started
    again and again while the web server stays up; stopping the demo stops all three."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    worker_runs, scheduler_runs, web_pid = (
        tmp_path / "worker",
        tmp_path / "scheduler",
        tmp_path / "web",
    )
    _script(
        fake_bin / "mutualis",
        f'if [ "$1" = worker ]; then echo $$ >> {worker_runs}; exit 1; fi\n'
        f"echo $$ >> {scheduler_runs}\nexec sleep 300",
    )
    _script(fake_bin / "gunicorn", f"echo $$ > {web_pid}\nexec sleep 300")
    demo = subprocess.Popen(  # noqa: S603 - scripts of this repository and of this test
        [ROOT / "bin" / "demo"],
        env=quick_env | {"MUTUALIS_BIN": str(fake_bin)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: len(_lines(worker_runs)) >= 3, "the worker restarted twice")
        web = int(_lines(web_pid)[0])
        scheduler = int(_lines(scheduler_runs)[0])
        assert demo.poll() is None
        assert _alive(web)
        assert _alive(scheduler)

        os.kill(scheduler, signal.SIGKILL)
        _wait_for(lambda: len(_lines(scheduler_runs)) >= 2, "the scheduler restarted")
        assert _alive(web)

        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=DEADLINE)
        restarted = int(_lines(scheduler_runs)[-1])
        _wait_for(lambda: not _alive(web), "the web server stopped")
        _wait_for(lambda: not _alive(restarted), "the scheduler stopped")
    finally:
        demo.kill()
    assert "supervise: worker exited (status 1); restarting" in demo.stderr.read()


def test_the_demo_ends_when_the_web_server_ends(tmp_path, quick_env):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    scheduler_runs = tmp_path / "scheduler"
    _script(fake_bin / "mutualis", f"echo $$ >> {scheduler_runs}\nexec sleep 300")
    # Ends once the supervised commands run (a supervisor signalled before its shell set
    # its trap would die at once, as any shell script, and leave its command behind).
    _script(
        fake_bin / "gunicorn",
        f'until [ "$(cat {scheduler_runs} 2>/dev/null | wc -l)" -ge 2 ]; do sleep 0.05; done\n'
        "exit 4",
    )
    demo = subprocess.Popen(  # noqa: S603 - scripts of this repository and of this test
        [ROOT / "bin" / "demo"],
        env=quick_env | {"MUTUALIS_BIN": str(fake_bin)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert demo.wait(timeout=DEADLINE) != 0
    finally:
        demo.kill()
    for pid in _lines(scheduler_runs):
        _wait_for(lambda pid=pid: not _alive(int(pid)), "the supervised commands stopped")
