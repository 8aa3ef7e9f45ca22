"""`make demo`: run Spendlens locally against the AWS emulator, on its embedded defaults.

Starts the emulator (moto server), migrates, seeds the demo organisation, prints the admin
credentials, then runs the web server (gunicorn) and the django-q2 cluster until Ctrl-C,
when every child process is stopped. Safe to run again: the seed and the admin are idempotent.
Only the standard library is used here, so the script runs before Django is configured.

Stopping: every child runs in a process group of its own, outside the terminal's foreground
group, so Ctrl-C reaches this script alone and never a child in the middle of its own shutdown
(django-q2's cluster, hit by Ctrl-C in all its processes, could wait out Q_TIMEOUT "stopping").
The first SIGINT/SIGTERM/SIGHUP asks each child to stop (SIGTERM) and SIGKILLs any group
still alive after STOP_GRACE_SECONDS; a further signal SIGKILLs them at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
WEB_PORT = int(os.environ.get("DEMO_PORT", "8000"))
MOTO_PORT = int(os.environ.get("MOTO_PORT", "5000"))
ADMIN_USER = os.environ.get("DEMO_ADMIN_USER", "admin")
ADMIN_PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "spendlens-demo")
# gunicorn and the cluster stop in about a second when idle; past this they are killed.
STOP_GRACE_SECONDS = 8
KILL_WAIT_SECONDS = 2
POLL_SECONDS = 0.1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def demo_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
            "AWS_ENDPOINT_URL": f"http://{HOST}:{MOTO_PORT}",
            # The emulator accepts any keys; fixed dummies mean real credentials in the
            # caller's shell are never used by the demo.
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_DEFAULT_REGION": "us-east-1",
            "GUNICORN_BIND": f"{HOST}:{WEB_PORT}",
            "WEB_CONCURRENCY": "2",
            # Logs for people at a terminal.
            "LOG_FORMAT": "plain",
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "REDIS_URL"):
        env.pop(name, None)
    env.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'db.sqlite3'}")
    # /metrics summed over both gunicorn workers.
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(ROOT / ".artifacts" / "prometheus"))
    # Links in the alert e-mails lead to this demo, not to the settings' default port.
    env.setdefault("SITE_URL", f"http://{HOST}:{WEB_PORT}")
    return env


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def say(message: str) -> None:
    # After SIGHUP the terminal may be gone; stopping the children matters more than the line.
    with contextlib.suppress(OSError):
        print(message, flush=True)


class StopRequested(Exception):
    """A stop signal arrived: unwind to main(), which stops the children."""


class DemoFailed(Exception):
    """A step of the demo failed; the message is the one line the user sees."""


class Children:
    """The demo's child processes, each the leader of a process group of its own.

    Signal handlers only set flags (and SIGKILL on escalation): raising from a handler could
    land between fork and the list append in start() and lose a child. The main flow polls
    the flags wherever it waits.

    A leader's exit is detected without reaping it (waitid WNOWAIT): while it is an unreaped
    zombie its pid, and so its group id, cannot be reused, so killpg() on the group can only
    reach what the demo started.
    """

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.processes: list[subprocess.Popen] = []
        self.names: dict[int, str] = {}
        self.stop_requested = False
        self.stopping = False
        self.forced = False

    def install_handlers(self) -> None:
        # Explicit for SIGINT too: a shell that starts the demo in the background ignores
        # SIGINT, and the default handler would never run.
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum, frame) -> None:
        if not self.stop_requested:
            self.stop_requested = True
            if not self.stopping:
                return
        self.forced = True
        self.kill_all()

    def check(self) -> None:
        if self.stop_requested:
            raise StopRequested

    def pause(self) -> None:
        time.sleep(POLL_SECONDS)
        self.check()

    def start(self, name: str, args: list[str], **kwargs) -> subprocess.Popen:
        self.check()
        try:
            process = subprocess.Popen(  # noqa: S603
                args,
                cwd=ROOT,
                env=self.env,
                # In a background process group, reading the terminal would stop the child.
                stdin=subprocess.DEVNULL,
                process_group=0,
                **kwargs,
            )
        except OSError as error:  # a venv without the tool, say
            raise DemoFailed(f"Could not start {name}: {error.strerror} ({args[0]}).") from None
        self.processes.append(process)
        self.names[process.pid] = name
        return process

    def manage(self, *args: str) -> None:
        process = self.start(f"manage.py {' '.join(args)}", [sys.executable, "manage.py", *args])
        while not exited(process):
            self.pause()
        code, what = self.ended(process)
        if code != 0:
            raise DemoFailed(f"Demo setup failed: {what}.")

    def wait_for_http(self, url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
        """Poll URL until it answers, failing fast if the process behind it died."""
        # Imported here, after the signal handlers: it is most of the script's import time,
        # during which Ctrl-C would still end in a KeyboardInterrupt traceback.
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if exited(process):
                raise DemoFailed(f"{self.ended(process)[1]}.")
            try:
                with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - fixed local URL
                    return
            except OSError:
                self.pause()
        raise DemoFailed(f"{url} did not answer within {timeout:.0f} s.")

    def reap(self, process: subprocess.Popen) -> int:
        """Kill what the exited leader left in its group, then collect the leader."""
        signal_group(process, signal.SIGKILL)
        code = process.wait()
        self.processes.remove(process)
        return code

    def ended(self, process: subprocess.Popen) -> tuple[int, str]:
        """Collect an exited child: its exit code and a description for the user.

        Raises StopRequested if a stop is under way: the exit is then no failure to report.
        """
        code = self.reap(process)
        self.check()
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        return code, f"{self.names[process.pid]} {how}"

    def watch(self) -> NoReturn:
        """Run until a stop is requested, or fail when a child exits on its own."""
        while True:
            for process in list(self.processes):
                if exited(process):
                    raise DemoFailed(f"{self.ended(process)[1]}; shutting down.")
            self.pause()

    def kill_all(self) -> None:
        for process in list(self.processes):
            signal_group(process, signal.SIGKILL)

    def stop_all(self) -> None:
        self.stopping = True
        if self.forced:
            self.kill_all()
        for process in list(self.processes):
            if not exited(process):
                # The leader stops its own workers (gunicorn's, the cluster's) in order.
                # os.kill, not send_signal(): that would reap an exited leader first.
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self.processes and time.monotonic() < deadline and not self.forced:
            for process in list(self.processes):
                if exited(process):
                    self.reap(process)
            time.sleep(POLL_SECONDS)
        self.kill_all()
        for process in list(self.processes):
            try:
                process.wait(timeout=KILL_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                continue
            self.processes.remove(process)


def exited(process: subprocess.Popen) -> bool:
    """Has the process exited? It is left unreaped (a zombie) so its group id stays its own."""
    if process.returncode is not None:
        return True
    if not hasattr(os, "waitid"):  # macOS before Python 3.13: reaped at once, a narrow race
        return process.poll() is not None
    flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
    return os.waitid(os.P_PID, process.pid, flags) is not None


def signal_group(process: subprocess.Popen, signum: int) -> None:
    if process.returncode is not None:
        return  # reaped: the group id is no longer ours to signal
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def main() -> int:
    env = demo_environment()
    children = Children(env)
    children.install_handlers()
    for name, port in (("DEMO_PORT", WEB_PORT), ("MOTO_PORT", MOTO_PORT)):
        if not port_is_free(port):
            say(f"Port {port} on {HOST} is in use: stop what holds it or set {name}=<port>.")
            return 1
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    try:
        say(f"Starting the local AWS emulator on {env['AWS_ENDPOINT_URL']} ...")
        # moto on a private port, behind the demo's front (demo/aws_front.py), which answers
        # the commitment APIs moto does not serve from recorded answers.
        emulator_port = free_port()
        moto = children.start(
            "moto_server",
            [str(VENV_BIN / "moto_server"), "-H", HOST, "-p", str(emulator_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children.wait_for_http(f"http://{HOST}:{emulator_port}/moto-api/data.json", moto)
        front = children.start(
            "demo AWS front",
            [
                sys.executable,
                "-m",
                "demo.aws_front",
                "--upstream",
                f"http://{HOST}:{emulator_port}",
                "--port",
                str(MOTO_PORT),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children.wait_for_http(f"{env['AWS_ENDPOINT_URL']}/moto-api/data.json", front)

        children.manage("migrate", "--noinput", "-v", "0")
        children.manage("seed_demo")
        children.manage(
            "ensure_superuser",
            "--username",
            ADMIN_USER,
            "--password",
            ADMIN_PASSWORD,
            "--email",
            "admin@demo.spendlens.local",
        )
        children.manage("add_member", "--org", "demo", "--username", ADMIN_USER, "--role", "admin")
        # The whole pipeline through the real code path (AssumeRole, Cost Explorer, EC2,
        # CloudWatch) against the emulator, so the demo opens on real recommendations.
        children.manage("refresh")
        # Regional prices from the Price List (the front answers it, demo/pricing.py) for the
        # fleet just synced, then detection again so the savings open on them.
        children.manage("refresh_prices")
        children.manage("detect_idle")
        # Alerts print to this console (the demo's e-mail backend).
        children.manage("check_budgets")
        children.manage("send_alerts")

        web = children.start(
            "gunicorn", [str(VENV_BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi"]
        )
        children.start("manage.py qcluster", [sys.executable, "manage.py", "qcluster"])
        url = f"http://{HOST}:{WEB_PORT}"
        children.wait_for_http(f"{url}/health", web)
        say(
            "\n"
            "  Spendlens is running.\n"
            f"  Dashboard: {url}/\n"
            f"  Admin:     {url}/admin/\n"
            f"  Log in as: {ADMIN_USER} / {ADMIN_PASSWORD}\n"
            "  Press Ctrl-C to stop the web server, the workers and the emulator.\n"
        )
        children.watch()
    except StopRequested:
        say("\nStopping Spendlens (Ctrl-C again stops it at once) ...")
        # A stop on request is a success: with 130, `make demo` would add an "Error 130" line.
        # make, hit by the same Ctrl-C, still dies of SIGINT, so the shell sees the interrupt.
        return 0
    except DemoFailed as failure:
        say(str(failure))
        return 1
    finally:
        children.stop_all()


if __name__ == "__main__":
    sys.exit(main())
