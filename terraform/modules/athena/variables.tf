variable "name" {
  description = "Name of the Athena workgroup (the WORKGROUP of athena:// URIs); the results bucket is <name>-athena-results-<account>."
  type        = string
  validation {
    # Athena's workgroup names, narrowed to what also fits an S3 bucket name.
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,30}$", var.name))
    error_message = "name must be 1-31 lower-case letters, digits or hyphens (it prefixes the results bucket's name)."
  }
}

variable "task_role_name" {
  description = "Name of the application's task role, which gets the permission to run imports in this workgroup."
  type        = string
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Bytes one query may scan before Athena cancels it (bills at 5 USD per TB scanned). Default 1 TiB."
  type        = number
  default     = 1099511627776
  validation {
    # Athena's minimum is 10 MB.
    condition     = var.bytes_scanned_cutoff_per_query >= 10000000
    error_message = "bytes_scanned_cutoff_per_query must be at least 10000000 (10 MB, Athena's minimum)."
  }
}

variable "export_bucket_arns" {
  description = "S3 buckets (ARNs) holding the AWS Data Exports the workgroup's queries read."
  type        = list(string)
  validation {
    condition     = length(var.export_bucket_arns) > 0 && alltrue([for a in var.export_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", a))])
    error_message = "export_bucket_arns must be one or more bucket ARNs (arn:aws:s3:::bucket), no wildcards."
  }
}

variable "export_prefix" {
  description = "Key prefix of the exports in those buckets (the Data Export's S3 path prefix), or empty for the whole buckets."
  type        = string
  default     = ""
  validation {
    condition     = can(regex("^([A-Za-z0-9!_.()'-]+(/[A-Za-z0-9!_.()'-]+)*)?$", var.export_prefix))
    error_message = "export_prefix must be a key prefix without leading or trailing slash, and no wildcards."
  }
}

variable "glue_database_names" {
  description = "Glue databases whose tables describe the exports (the DATABASE of athena:// URIs)."
  type        = list(string)
  validation {
    condition     = length(var.glue_database_names) > 0 && alltrue([for d in var.glue_database_names : can(regex("^[a-z0-9_-]{1,255}$", d))])
    error_message = "glue_database_names must be one or more Glue database names (lower case, no wildcards)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the query results (the deployment's key)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "export_kms_key_arns" {
  description = "KMS keys encrypting the exports, if they are SSE-KMS encrypted (decrypt through S3 only)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for a in var.export_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", a))])
    error_message = "export_kms_key_arns must be KMS key ARNs."
  }
}

variable "results_retention_days" {
  description = "Days query results stay in the results bucket (the importer reads them within minutes)."
  type        = number
  default     = 7
  validation {
    condition     = var.results_retention_days >= 1 && var.results_retention_days <= 365
    error_message = "results_retention_days must be between 1 and 365."
  }
}

variable "tags" {
  description = "Tags for the workgroup and the results bucket."
  type        = map(string)
  default     = {}
}
