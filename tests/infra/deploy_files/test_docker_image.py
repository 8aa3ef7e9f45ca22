"""The image: Dockerfile (stages, user, health check, command, entrypoint) and what
.dockerignore keeps out of the build context."""

import fnmatch
import json
import re
import shlex
from pathlib import Path

import pytest

from tests.infra.deploy_files.files import ROOT

# --- Dockerfile ---------------------------------------------------------------------------------


def parse_dockerfile(path: Path) -> list[dict]:
    """Instructions as {"cmd", "args", "stage"}; continuations joined, comments dropped."""
    instructions, current, stage = [], "", -1
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        cmd, _, args = current.partition(" ")
        cmd = cmd.upper()
        if cmd == "FROM":
            stage += 1
        instructions.append({"cmd": cmd, "args": args.strip(), "stage": stage})
        current = ""
    return instructions


@pytest.fixture(scope="module")
def dockerfile():
    return parse_dockerfile(ROOT / "Dockerfile")


def final_stage(instructions):
    last = max(i["stage"] for i in instructions)
    return [i for i in instructions if i["stage"] == last]


def test_dockerfile_is_multi_stage_on_pinned_slim_python(dockerfile):
    froms = [i["args"] for i in dockerfile if i["cmd"] == "FROM"]
    assert len(froms) >= 2, "build and runtime stages"
    for image in froms:
        # The Debian release is pinned by name: a rebuild never jumps to a new Debian.
        assert re.match(r"python:3\.11(\.\d+)?-slim-(bookworm|trixie)(@sha256:\w+)?\b", image)
    runtime_copies = [i["args"] for i in final_stage(dockerfile) if i["cmd"] == "COPY"]
    assert any("--from=build" in args for args in runtime_copies)


def test_runtime_runs_as_a_non_root_user_before_its_command(dockerfile):
    stage = final_stage(dockerfile)
    cmds = [i["cmd"] for i in stage]
    users = [n for n, i in enumerate(stage) if i["cmd"] == "USER"]
    assert users, "the runtime stage must switch user"
    user = stage[users[-1]]["args"].split(":")[0]
    assert user not in ("root", "0")
    assert users[-1] < cmds.index("CMD")
    assert users[-1] < cmds.index("ENTRYPOINT")


def test_healthcheck_probes_health_on_port_8000(dockerfile):
    checks = [i["args"] for i in final_stage(dockerfile) if i["cmd"] == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "127.0.0.1:8000/health" in checks[0]
    assert "--timeout=" in checks[0]


def test_command_is_exec_form_gunicorn(dockerfile):
    cmd = [i["args"] for i in final_stage(dockerfile) if i["cmd"] == "CMD"][-1]
    argv = json.loads(cmd)  # exec form is a JSON array; shell form would not parse
    assert argv[0] == "gunicorn"
    assert argv[-1] == "config.wsgi"
    assert argv[argv.index("-c") + 1] == "config/gunicorn.py"


def test_entrypoint_prepares_metrics_dir_and_execs_the_command(dockerfile):
    entrypoint = json.loads([i["args"] for i in dockerfile if i["cmd"] == "ENTRYPOINT"][-1])
    assert entrypoint == ["/usr/local/bin/docker-entrypoint.sh"]
    copied = [i["args"] for i in dockerfile if i["cmd"] == "COPY" and entrypoint[0] in i["args"]]
    assert copied and "--chmod=0755" in copied[0]
    source = shlex.split(copied[0])[-2]
    script = (ROOT / source).read_text().strip().splitlines()
    assert script[0] == "#!/bin/sh"
    assert "set -eu" in script
    assert script[-1] == 'exec "$@"', "the command must replace the shell (PID 1, signals)"
    assert any('find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete' in line for line in script)


def test_prometheus_multiproc_dir_exists_and_belongs_to_the_app_user(dockerfile):
    stage = final_stage(dockerfile)
    env = " ".join(i["args"] for i in stage if i["cmd"] == "ENV")
    match = re.search(r"PROMETHEUS_MULTIPROC_DIR=(\S+)", env)
    assert match
    directory = match.group(1)
    assert not directory.startswith("/app"), "the code tree is read-only for the app user"
    runs = " ".join(i["args"] for i in stage if i["cmd"] == "RUN")
    assert re.search(rf"install -d -o spendlens -g spendlens -m 07\d0 {re.escape(directory)}", runs)
    assert "useradd --system --uid 10001" in runs
    user = [i["args"] for i in stage if i["cmd"] == "USER"][-1]
    assert user == "10001:10001"


def test_static_files_collected_at_build_and_pip_keeps_no_cache(dockerfile):
    build_runs = [i["args"] for i in dockerfile if i["cmd"] == "RUN" and i["stage"] == 0]
    assert any("manage.py collectstatic --noinput" in run for run in build_runs)
    pip_installs = [run for run in build_runs if "pip install" in run]
    assert pip_installs
    assert all("--no-cache-dir" in run for run in pip_installs)


def test_apt_packages_are_pinned_if_any(dockerfile):
    for run in (i["args"] for i in dockerfile if i["cmd"] == "RUN"):
        if "apt-get install" not in run:
            continue
        words = run.split("apt-get install", 1)[1].split("&&")[0].split()
        packages = [w for w in words if not w.startswith("-")]
        assert packages and all("=" in p for p in packages), f"unpinned apt packages: {run}"


def test_image_documents_the_worker_and_migrate_commands():
    text = (ROOT / "Dockerfile").read_text()
    assert "python manage.py qcluster" in text
    assert "python manage.py migrate --noinput" in text


# --- .dockerignore ------------------------------------------------------------------------------


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rules, closely enough: last matching pattern wins, `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if pattern.startswith("**/"):
            pattern = pattern[3:]
            candidates = [
                "/".join(parts[i : n + 1]) for n in range(len(parts)) for i in range(n + 1)
            ]
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            ignored = not negate
    return ignored


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        ".venv-infra/bin/hadolint",
        ".env",
        "tests/conftest.py",
        ".pytest_cache/v",
        ".artifacts/screenshots/a.png",
        "bench/out/result.json",
        "terraform/environments/prod/terraform.tfstate",
        "terraform/environments/prod/.terraform/providers",
        "ansible/playbook.yml",
        "db.sqlite3",
        "staticfiles/admin/css/base.css",
        "costs/__pycache__/models.cpython-311.pyc",
        "docker-compose.yml",
    ],
)
def test_dockerignore_keeps_local_state_and_secrets_out(path):
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert dockerignored(path, patterns)


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "requirements.txt",
        "config/settings.py",
        "config/gunicorn.py",
        "costs/data/aws_prices.json",
        "static/js/cost-chart.js",
        "templates/base.html",
        "deploy/docker-entrypoint.sh",
    ],
)
def test_dockerignore_keeps_what_the_image_needs(path):
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not dockerignored(path, patterns)


def test_source_maps_named_by_static_files_exist():
    # CompressedManifestStaticFilesStorage rewrites sourceMappingURL references and aborts
    # collectstatic on a missing target, which would break `docker build`.
    missing = []
    for path in (ROOT / "static").rglob("*.js"):
        for name in re.findall(r"sourceMappingURL=(\S+)", path.read_text(errors="replace")):
            if not name.startswith("data:") and not (path.parent / name).exists():
                missing.append(f"{path.relative_to(ROOT)} -> {name}")
    assert missing == []
