# The Athena side of import_billing athena://WORKGROUP/DATABASE.TABLE?period=YYYY-MM: a
# workgroup whose settings queries cannot override (enforce_workgroup_configuration), a cap on
# the bytes one query may scan (Athena cancels a query past it, and bills only what it scanned
# until then), a results bucket encrypted with the deployment's KMS key that forgets results
# after a few days, and the task role's least-privilege policy:
#
#   - athena: start, follow, read and stop queries in this workgroup only;
#   - glue:   read the catalog entries of the export databases (no writes);
#   - s3:     read the export buckets (optionally under one prefix), read and write the
#             results bucket;
#   - kms:    the deployment's key through S3 only (results), and the exports' key if they are
#             encrypted with one.
#
# The export stays where AWS Data Exports writes it (the payer's bucket); the queries run with
# the platform's identity (the task role), so the payer's bucket policy must grant that role
# read access when the bucket is in another account.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.name
  results_prefix = "spendlens"
  export_objects = [
    for arn in var.export_bucket_arns : var.export_prefix == "" ? "${arn}/*" : "${arn}/${var.export_prefix}/*"
  ]
  glue_catalog = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
}

# --- Workgroup --------------------------------------------------------------------------------

resource "aws_athena_workgroup" "imports" {
  name          = var.name
  description   = "Spendlens billing imports (import_billing athena://${var.name}/...)"
  state         = "ENABLED"
  force_destroy = false

  configuration {
    # Queries cannot choose another result location or turn encryption off.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location       = "s3://${aws_s3_bucket.results.bucket}/${local.results_prefix}/"
      expected_bucket_owner = local.account_id
      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = var.tags
}

# --- Results bucket ---------------------------------------------------------------------------

resource "aws_s3_bucket" "results" {
  #checkov:skip=CKV_AWS_18:Query results are transient (expired after results_retention_days) and already in Athena's query history; access logging would need another bucket for them.
  #checkov:skip=CKV_AWS_144:Results are re-creatable by running the query again; replicating them to another region would only double the cost.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events for query result objects: the importer reads the result it asked for.
  bucket        = "${var.name}-athena-results-${local.account_id}"
  force_destroy = false
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "results" {
  bucket = aws_s3_bucket.results.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "results" {
  bucket                  = aws_s3_bucket.results.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "results" {
  bucket = aws_s3_bucket.results.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "results" {
  bucket = aws_s3_bucket.results.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  bucket = aws_s3_bucket.results.id

  rule {
    id     = "expire-query-results"
    status = "Enabled"
    filter {}
    expiration {
      days = var.results_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "results_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    resources = [aws_s3_bucket.results.arn, "${aws_s3_bucket.results.arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "results" {
  bucket = aws_s3_bucket.results.id
  policy = data.aws_iam_policy_document.results_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.results]
}

# --- The task role's permission ---------------------------------------------------------------

data "aws_iam_policy_document" "import" {
  statement {
    sid = "RunImportQueries"
    actions = [
      "athena:GetQueryExecution",
      "athena:StartQueryExecution",
      "athena:StopQueryExecution",
    ]
    resources = [aws_athena_workgroup.imports.arn]
  }

  statement {
    sid     = "ReadExportCatalog"
    actions = ["glue:GetDatabase", "glue:GetPartitions", "glue:GetTable"]
    resources = concat(
      [local.glue_catalog],
      [for db in var.glue_database_names : "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${db}"],
      [for db in var.glue_database_names : "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${db}/*"],
    )
  }

  statement {
    sid       = "ListExportBuckets"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = var.export_bucket_arns
  }

  statement {
    sid       = "ReadExports"
    actions   = ["s3:GetObject"]
    resources = local.export_objects
  }

  statement {
    sid       = "UseResultsBucket"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = [aws_s3_bucket.results.arn]
  }

  statement {
    sid = "ReadAndWriteResults"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = ["${aws_s3_bucket.results.arn}/${local.results_prefix}/*"]
  }

  statement {
    sid       = "EncryptResults"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = length(var.export_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptExports"
      actions   = ["kms:Decrypt"]
      resources = var.export_kms_key_arns
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "import" {
  name   = "${var.name}-athena-import"
  role   = var.task_role_name
  policy = data.aws_iam_policy_document.import.json
}
