"""Every module has the standard files, typed and described variables, pinned providers;
the tfvars example sets what prod requires and no secret."""

import re

from tests.infra.terraform.checkers import SECRET_NAME
from tests.infra.terraform.hcl import MODULES, PROD, modules, parse

EXPECTED_MODULES = {
    "alb",
    "athena",
    "customer-role",
    "ecr",
    "ecs",
    "github-deploy",
    "iam",
    "network",
    "queue",
    "rds",
    "secrets",
    "ses",
}


# --- The repository's Terraform -------------------------------------------------------------


def test_every_module_has_the_standard_files():
    for name in EXPECTED_MODULES:
        path = MODULES / name
        for file in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (path / file).is_file(), f"{name}/{file}"
    assert set(modules()) == EXPECTED_MODULES | {"prod"}


def test_every_variable_has_a_type_and_a_description():
    for name, module in modules().items():
        for variable, body in module.variables.items():
            assert body.get("description"), f"{name}: var.{variable} has no description"
            assert body.get("type"), f"{name}: var.{variable} has no type"


def test_providers_are_pinned():
    for name, module in modules().items():
        blocks = [b for b in module.terraform if "required_providers" in b]
        assert blocks, f"{name} has no required_providers"
        aws = blocks[0]["required_providers"][0]["aws"]
        assert aws["source"] == "hashicorp/aws"
        assert re.search(r"\d", aws["version"]), f"{name}: aws provider version not pinned"
    prod = modules()["prod"].terraform
    assert any(b.get("required_version") for b in prod)
    assert any(b.get("backend") == [{"s3": {}}] for b in prod), "prod: partial S3 backend"


def test_tfvars_example_sets_every_required_variable_and_no_secret():
    example = parse((PROD / "terraform.tfvars.example").read_text())
    prod = modules()["prod"]
    required = {name for name, body in prod.variables.items() if "default" not in body}
    assert required <= set(example), sorted(required - set(example))
    assert set(example) <= set(prod.variables), sorted(set(example) - set(prod.variables))
    for name in example.get("extra_environment", {}):
        assert not SECRET_NAME.search(name), name
