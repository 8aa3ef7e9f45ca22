variable "name" {
  description = "Name prefix of the roles (for example spendlens)."
  type        = string
}

variable "ecr_repository_arn" {
  description = "The only repository the execution role may pull from."
  type        = string
}

variable "log_group_prefix" {
  description = "Log group name prefix of the deployment's tasks (for example /ecs/spendlens/)."
  type        = string
  validation {
    condition     = startswith(var.log_group_prefix, "/") && endswith(var.log_group_prefix, "/")
    error_message = "log_group_prefix must start and end with a slash, for example /ecs/spendlens/."
  }
}

variable "parameter_prefix" {
  description = "SSM path of the deployment's secrets (for example /spendlens/prod); Secrets Manager secrets named spendlens/prod/* are readable too."
  type        = string
  validation {
    condition     = can(regex("^(/[A-Za-z0-9_.-]+)+$", var.parameter_prefix))
    error_message = "parameter_prefix must look like /spendlens/prod."
  }
}

variable "extra_secret_arns" {
  description = "Secrets Manager secrets outside the prefix the execution role may read (the RDS-managed master secret, for the dbinit task)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for a in var.extra_secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", a))])
    error_message = "extra_secret_arns must be full Secrets Manager secret ARNs (no wildcards)."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the deployment's parameters and secrets."
  type        = string
}

variable "customer_role_names" {
  description = "Names of the roles customers create in their accounts (terraform/modules/customer-role's role_name); each may sit under any IAM path."
  type        = list(string)
  default     = ["SpendlensAccess"]
  validation {
    condition     = length(var.customer_role_names) > 0 && alltrue([for name in var.customer_role_names : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", name))])
    error_message = "customer_role_names must list plain IAM role names (no wildcards or paths)."
  }
}

variable "ses_identity_arn" {
  description = "ARN of the SES identity the alerts are sent from."
  type        = string
}

variable "ses_extra_resource_arns" {
  description = "Further SES resources a send touches: the configuration set, and while in the SES sandbox the verified recipient identities."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for a in var.ses_extra_resource_arns : can(regex("^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:(identity|configuration-set)/[^*]+$", a))])
    error_message = "ses_extra_resource_arns must be SES identity or configuration set ARNs, without wildcards."
  }
}

variable "ses_from_address" {
  description = "The only From address the application may send as (DEFAULT_FROM_EMAIL's address)."
  type        = string
  validation {
    condition     = can(regex("^[^@\\s<>]+@[^@\\s<>]+$", var.ses_from_address))
    error_message = "ses_from_address must be a bare e-mail address (no display name)."
  }
}

variable "billing_export_bucket_arns" {
  description = "S3 buckets (ARNs) holding FOCUS billing exports that import_billing s3://... reads with the platform's own role."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for a in var.billing_export_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", a))])
    error_message = "billing_export_bucket_arns must be bucket ARNs (arn:aws:s3:::bucket), no wildcards."
  }
}

variable "tags" {
  description = "Tags for the roles."
  type        = map(string)
  default     = {}
}
