"""`make demo` (scripts/demo.py) run for real: Ctrl-C stops everything, links follow DEMO_PORT.

The demo runs in a session of its own, as under a terminal; a signal to its process group is
what Ctrl-C sends. Whatever the demo starts (the emulator, manage.py steps, gunicorn and its
workers, the django-q2 cluster and its processes) stays in that session even when orphaned,
so a process of the session still alive after the demo has stopped is one it left behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The demo's own bound: a polite stop, then SIGKILL after 8 s; slack for a loaded machine.
STOP_BOUND = 15
START_WAIT = 300  # seconds: seeding takes about a minute; only a broken run waits this long

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="finds the demo's processes through /proc"
)


def load_demo(monkeypatch, **environ: str):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("demo_under_test", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:  # all held at once, so the ports differ
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Demo:
    """scripts/demo.py in a new session, on free ports, with a database of its own."""

    def __init__(self, directory: Path):
        self.port, moto_port = free_ports(2)
        env = {
            **os.environ,
            "DEMO_PORT": str(self.port),
            "MOTO_PORT": str(moto_port),
            "DATABASE_URL": f"sqlite:///{directory / 'demo.sqlite3'}",
            "PROMETHEUS_MULTIPROC_DIR": str(directory / "prometheus"),
        }
        env.pop("SITE_URL", None)
        self.stdout_path, self.stderr_path = directory / "stdout.txt", directory / "stderr.txt"
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "scripts/demo.py"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        self.session = self.process.pid

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def errors(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def processes(self) -> list[tuple[int, int, str]]:
        """(pid, process group, command line) of every live process of the demo's session.

        Zombies are left out: they are dead, and the init of a container may never reap one.
        """
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:  # gone meanwhile
                continue
            state, _parent, group, session = stat[stat.rindex(")") + 2 :].split()[:4]
            if int(session) == self.session and state != "Z":
                found.append((int(entry.name), int(group), cmdline.strip()))
        return found

    def wait_until(self, condition, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(
                    f"timed out waiting for {what} (demo exit code {self.process.poll()}); "
                    f"stderr ends with:\n{self.errors()[-3000:]}"
                )
            time.sleep(0.1)

    def wait_for_step(self, command: str) -> None:
        def started() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"the demo exited ({self.process.returncode}) before {command}")
            return any(command in cmdline for _, _, cmdline in self.processes())

        self.wait_until(started, command, START_WAIT)

    def wait_until_running(self) -> None:
        def running() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"the demo exited ({self.process.returncode}):\n{self.errors()}")
            return "Spendlens is running." in self.output()

        self.wait_until(running, "the demo to run", START_WAIT)

    def send(self, signum: int) -> None:
        """What a terminal's Ctrl-C does: signal the foreground process group, the demo's."""
        with contextlib.suppress(ProcessLookupError):  # the demo's group may be gone already
            os.killpg(self.session, signum)

    def stop_twice(self, first: int, second: int) -> None:
        """FIRST, then SECOND as soon as the demo says it is stopping; all must end in time."""
        started = time.monotonic()
        self.send(first)
        self.wait_until(lambda: "Stopping Spendlens" in self.output(), "stopping", STOP_BOUND)
        self.send(second)
        self.wait_until(lambda: self.process.poll() is not None, "the demo to exit", STOP_BOUND)
        self.wait_until(lambda: not self.processes(), "every child to exit", STOP_BOUND)
        assert time.monotonic() - started < STOP_BOUND
        # 0, not 130: a stop on request is a success, and `make demo` adds no "Error" line.
        assert self.process.returncode == 0, self.errors()[-3000:]
        assert "Traceback" not in self.errors()
        assert self.output().count("Stopping Spendlens") == 1

    def kill(self) -> None:
        """Clean up after a failed test: nothing of the demo may outlive it."""
        for group in {group for _, group, _ in self.processes()}:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self.process.wait(STOP_BOUND)


@pytest.fixture
def demo(tmp_path):
    started = Demo(tmp_path)
    yield started
    started.kill()


@pytest.fixture(scope="module")
def running_demo(tmp_path_factory):
    """One demo, seeded and serving, shared by the tests that need it (seeding takes ~1 min)."""
    started = Demo(tmp_path_factory.mktemp("demo"))
    try:
        started.wait_until_running()
        yield started
    finally:
        started.kill()


def test_site_url_defaults_to_the_url_the_demo_serves(monkeypatch):
    monkeypatch.delenv("SITE_URL", raising=False)
    assert load_demo(monkeypatch, DEMO_PORT="8401").demo_environment()["SITE_URL"] == (
        "http://127.0.0.1:8401"
    )
    own = load_demo(monkeypatch, DEMO_PORT="8401", SITE_URL="https://spendlens.example.com")
    assert own.demo_environment()["SITE_URL"] == "https://spendlens.example.com"


def test_alert_emails_on_the_console_link_to_the_demo_port(running_demo):
    output = running_demo.output()
    demo_url = f"http://127.0.0.1:{running_demo.port}/"
    # Every alert e-mail (send_alerts, run by the demo) ends with the preferences link.
    assert f"{demo_url}profile/#alerts" in output
    moto_url = re.search(r"local AWS emulator on (\S+)", output).group(1)
    links = set(re.findall(r"https?://[^\s\"'<>]+", output))
    assert {link for link in links if not link.startswith((demo_url, moto_url))} == set()


def test_ctrl_c_twice_while_running_stops_every_process(running_demo):
    kinds = " ".join(cmdline for _, _, cmdline in running_demo.processes())
    assert all(name in kinds for name in ("moto_server", "gunicorn", "qcluster"))
    running_demo.stop_twice(signal.SIGINT, signal.SIGINT)


def test_ctrl_c_then_sigterm_while_seeding_stops_every_process(demo):
    demo.wait_for_step("seed_demo")
    demo.stop_twice(signal.SIGINT, signal.SIGTERM)
