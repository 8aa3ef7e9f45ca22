"""`make demo`: run Spendlens locally against the AWS emulator, on its embedded defaults.

Starts the emulator (moto server), migrates, seeds the demo organisation, prints the admin
credentials, then runs the web server (gunicorn) and the django-q2 cluster until Ctrl-C,
when every child process is stopped. Safe to run again: the seed and the admin are idempotent.
Only the standard library is used here, so the script runs before Django is configured.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
WEB_PORT = int(os.environ.get("DEMO_PORT", "8000"))
MOTO_PORT = int(os.environ.get("MOTO_PORT", "5000"))
ADMIN_USER = os.environ.get("DEMO_ADMIN_USER", "admin")
ADMIN_PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "spendlens-demo")
STOP_GRACE_SECONDS = 10


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
            # Logs for people at a terminal; /metrics summed over both gunicorn workers.
            "LOG_FORMAT": "plain",
            "PROMETHEUS_MULTIPROC_DIR": str(ROOT / ".artifacts" / "prometheus"),
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "REDIS_URL"):
        env.pop(name, None)
    env.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'db.sqlite3'}")
    return env


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll URL until it answers, failing fast if the process behind it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} exited with code {process.returncode}.")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - fixed local URL
                return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s.")


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def stop_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    for name, port in (("DEMO_PORT", WEB_PORT), ("MOTO_PORT", MOTO_PORT)):
        if not port_is_free(port):
            print(f"Port {port} on {HOST} is in use: stop what holds it or set {name}=<port>.")
            return 1
    env = demo_environment()
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen] = []

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # Explicit for SIGINT too: a shell that starts the demo in the background ignores SIGINT,
    # and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        print(f"Starting the local AWS emulator on {env['AWS_ENDPOINT_URL']} ...")
        moto = subprocess.Popen(  # noqa: S603
            [str(VENV_BIN / "moto_server"), "-H", HOST, "-p", str(MOTO_PORT)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(moto)
        wait_for_http(f"{env['AWS_ENDPOINT_URL']}/moto-api/data.json", moto)

        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_demo")
        manage(
            env,
            "ensure_superuser",
            "--username",
            ADMIN_USER,
            "--password",
            ADMIN_PASSWORD,
            "--email",
            "admin@demo.spendlens.local",
        )
        manage(env, "add_member", "--org", "demo", "--username", ADMIN_USER, "--role", "admin")
        # The whole pipeline through the real code path (AssumeRole, Cost Explorer, EC2,
        # CloudWatch) against the emulator, so the demo opens on real recommendations.
        manage(env, "refresh")
        # Alerts print to this console (the demo's e-mail backend).
        manage(env, "check_budgets")
        manage(env, "send_alerts")

        web = subprocess.Popen(  # noqa: S603
            [str(VENV_BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
        )
        processes.append(web)
        processes.append(
            subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env)
        )
        wait_for_http(f"http://{HOST}:{WEB_PORT}/health", web)
        url = f"http://{HOST}:{WEB_PORT}"
        print(
            "\n"
            "  Spendlens is running.\n"
            f"  Dashboard: {url}/\n"
            f"  Admin:     {url}/admin/\n"
            f"  Log in as: {ADMIN_USER} / {ADMIN_PASSWORD}\n"
            "  Press Ctrl-C to stop the web server, the workers and the emulator.\n",
            flush=True,
        )
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        failed = next(process for process in processes if process.poll() is not None)
        print(f"{failed.args[0]} stopped (exit code {failed.returncode}); shutting down.")
        return 1
    except KeyboardInterrupt:
        print("\nStopping Spendlens ...")
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"Demo setup failed: {' '.join(map(str, exc.cmd))} exited with {exc.returncode}.")
        return 1
    finally:
        stop_all(processes)


if __name__ == "__main__":
    sys.exit(main())
