"""Where the deployment files are, and how the tests read them: YAML, and the Ansible roles'
templates rendered with their defaults."""

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ANSIBLE = ROOT / "ansible"
ROLES = ANSIBLE / "roles"


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def render_role_template(role: str, template: str, **overrides) -> str:
    """Render an Ansible template with the role's defaults (Jinja2 plus Ansible's to_json)."""
    jinja2 = pytest.importorskip("jinja2")
    defaults = load_yaml(ROLES / "docker_host" / "defaults" / "main.yml")
    defaults |= load_yaml(ROLES / role / "defaults" / "main.yml")
    defaults |= {"ansible_managed": "Ansible managed"} | overrides
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / role / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["to_json"] = json.dumps
    return environment.get_template(template).render(**defaults)
