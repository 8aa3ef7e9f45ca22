"""The Athena import's workgroup: queries cannot override it, one query's scan is capped, its
results are encrypted and expire, and the task role may run queries in that workgroup only,
read the exports and their catalog, and use the results prefix - nothing else of Athena, Glue
or the results bucket."""

from costs.ingest.athena.catalog import NAME_RE, WORKGROUP_RE
from tests.infra.terraform.checkers import iam_documents, iam_problems, listed
from tests.infra.terraform.hcl import modules

ATHENA_ACTIONS = {
    "athena:GetQueryExecution",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
}
GLUE_ACTIONS = {"glue:GetDatabase", "glue:GetPartitions", "glue:GetTable"}


def statements():
    return {s["sid"]: s for s in iam_documents(modules()["athena"])["import"]}


def test_the_task_role_runs_queries_in_the_import_workgroup_only():
    athena = modules()["athena"]
    assert iam_problems(athena) == []
    run = statements()["RunImportQueries"]
    # The result is read from S3 (costs/ingest/athena/importer.py): no GetQueryResults.
    assert set(run["actions"]) == ATHENA_ACTIONS
    assert run["resources"] == ["${aws_athena_workgroup.imports.arn}"]
    (policy,) = athena.of_type("aws_iam_role_policy").values()
    assert policy["role"] == "${var.task_role_name}"
    assert modules()["prod"].calls["athena"]["task_role_name"] == "${module.iam.task_role_name}"


def test_the_catalog_and_the_exports_are_read_only():
    found = statements()
    glue = found["ReadExportCatalog"]
    assert set(glue["actions"]) == GLUE_ACTIONS
    assert "var.glue_database_names" in glue["resources"]
    assert "database/${db}" in glue["resources"] and "table/${db}/*" in glue["resources"]
    assert found["ListExportBuckets"]["resources"] == "${var.export_bucket_arns}"
    assert set(found["ListExportBuckets"]["actions"]) == {"s3:GetBucketLocation", "s3:ListBucket"}
    assert found["ReadExports"]["actions"] == ["s3:GetObject"]
    assert found["ReadExports"]["resources"] == "${local.export_objects}"
    # Writes go to the results prefix only.
    writes = {
        sid
        for sid, s in found.items()
        for action in listed(s["actions"])
        if action.startswith("s3:Put") or action.startswith("glue:Create")
    }
    assert writes == {"ReadAndWriteResults"}
    assert found["ReadAndWriteResults"]["resources"] == [
        "${aws_s3_bucket.results.arn}/${local.results_prefix}/*"
    ]


def test_keys_are_used_through_s3_only():
    found = statements()
    for sid in ("EncryptResults", "DecryptExports"):
        (condition,) = found[sid]["condition"]
        assert (condition["variable"], condition["values"]) == (
            "kms:ViaService",
            ["s3.${local.region}.amazonaws.com"],
        ), sid
    assert found["DecryptExports"]["actions"] == ["kms:Decrypt"]


def test_no_policy_anywhere_grants_more_of_athena_or_glue():
    granted = {
        action
        for module in modules().values()
        for document in iam_documents(module).values()
        for statement in document
        if statement.get("effect", "Allow") == "Allow"
        for action in listed(statement.get("actions"))
        if action.startswith(("athena:", "glue:"))
    }
    assert granted == ATHENA_ACTIONS | GLUE_ACTIONS


def test_the_workgroup_is_enforced_capped_and_encrypted():
    athena = modules()["athena"]
    (workgroup,) = athena.of_type("aws_athena_workgroup").values()
    (configuration,) = workgroup["configuration"]
    assert configuration["enforce_workgroup_configuration"] is True
    assert configuration["bytes_scanned_cutoff_per_query"] == (
        "${var.bytes_scanned_cutoff_per_query}"
    )
    assert athena.default("bytes_scanned_cutoff_per_query") == 2**40
    (result,) = configuration["result_configuration"]
    assert result["output_location"].startswith("s3://${aws_s3_bucket.results.bucket}/")
    (encryption,) = result["encryption_configuration"]
    assert encryption == {"encryption_option": "SSE_KMS", "kms_key_arn": "${var.kms_key_arn}"}
    assert modules()["prod"].calls["athena"]["kms_key_arn"] == "${module.secrets.kms_key_arn}"
    lifecycle = athena.resources[("aws_s3_bucket_lifecycle_configuration", "results")]
    assert lifecycle["rule"][0]["expiration"][0]["days"] == "${var.results_retention_days}"


def test_prod_creates_the_workgroup_only_with_export_buckets():
    prod = modules()["prod"]
    assert prod.calls["athena"]["count"] == "${length(var.athena_export_bucket_arns) > 0 ? 1 : 0}"
    assert prod.default("athena_export_bucket_arns") == []


def test_names_terraform_accepts_are_names_the_importer_accepts():
    athena = modules()["athena"]
    assert WORKGROUP_RE.match("spendlens-athena-1234567890abcdef")
    for example in ("spendlens", "billing", "spendlens_exports"):
        assert WORKGROUP_RE.match(example) and NAME_RE.match(example)
    assert athena.variables["name"]["validation"]
