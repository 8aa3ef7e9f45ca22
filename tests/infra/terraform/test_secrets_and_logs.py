"""SSM parameters are SecureStrings Terraform never fills; every log group has a retention
and the deployment's key."""

from tests.infra.terraform.hcl import modules, resolve_value

CLOUDWATCH_RETENTIONS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096}
CLOUDWATCH_RETENTIONS |= {1827, 2192, 2557, 2922, 3288, 3653}


def test_every_log_group_has_a_retention_and_the_key():
    groups = 0
    for name, module in modules().items():
        for group_name, group in module.of_type("aws_cloudwatch_log_group").items():
            groups += 1
            retention = resolve_value(group.get("retention_in_days"), module)
            assert retention in CLOUDWATCH_RETENTIONS, f"{name}.{group_name}: {retention!r}"
            assert group.get("kms_key_id") == "${var.kms_key_arn}", f"{name}.{group_name}"
    assert groups >= 4  # resources; the ECS and RDS ones make several groups each (for_each)
    assert modules()["ecs"].default("log_retention_days") == 30
    # RDS log exports land in groups created beforehand (else they never expire).
    rds = modules()["rds"]
    assert (
        rds.of_type("aws_cloudwatch_log_group")["exports"]["for_each"]
        == "${toset(local.log_exports)}"
    )
    assert (
        rds.of_type("aws_db_instance")["this"]["enabled_cloudwatch_logs_exports"]
        == "${local.log_exports}"
    )


def test_secret_parameters_are_secure_strings_terraform_never_fills():
    secrets = modules()["secrets"]
    (parameter,) = secrets.of_type("aws_ssm_parameter").values()
    assert parameter["type"] == "SecureString"
    assert parameter["key_id"] == "${aws_kms_key.this.arn}"
    # A placeholder the application refuses (SECRET_KEY needs 32+ characters), then hands off.
    assert len(parameter["value"]) < 32
    assert parameter["lifecycle"] == [{"ignore_changes": ["value"]}]
    (key,) = secrets.of_type("aws_kms_key").values()
    assert key["enable_key_rotation"] is True
