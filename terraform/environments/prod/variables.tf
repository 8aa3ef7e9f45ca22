# --- Where ------------------------------------------------------------------------------------

variable "account_id" {
  description = "AWS account to deploy into; the provider refuses any other (guards against the wrong profile)."
  type        = string
  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account ID."
  }
}

variable "region" {
  description = "AWS Region of the stack (SES, ACM certificate and everything else)."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the deployment: the ECS cluster, the prefix of every resource (spendlens-web, spendlens-migrate, ...) and of the SSM path."
  type        = string
  default     = "spendlens"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name must be 3-21 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name: tags, and the SSM path /<name>/<environment>/ of the secrets."
  type        = string
  default     = "prod"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits."
  }
}

# --- Network ----------------------------------------------------------------------------------

variable "availability_zones" {
  description = "Availability zones to spread the subnets over, named explicitly so the set never changes under the stack (2 or 3, in var.region)."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b"]
  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && alltrue([for az in var.availability_zones : startswith(az, var.region)])
    error_message = "availability_zones must name 2 or 3 zones of var.region."
  }
}

variable "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "nat_gateway_mode" {
  description = "\"single\" (one NAT gateway, about 33 USD a month) or \"per_az\" (one per AZ, survives an AZ outage)."
  type        = string
  default     = "single"
}

# --- Web entry point --------------------------------------------------------------------------

variable "domain_name" {
  description = "Host name users reach Spendlens at (ALLOWED_HOSTS, SITE_URL); point it at the ALB."
  type        = string
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lowercase host name such as spendlens.example.com."
  }
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name, in the same Region, already issued (DNS-validated)."
  type        = string
}

variable "waf_enabled" {
  description = "Protect the ALB with AWS WAF (managed rules and a per-IP rate limit)."
  type        = bool
  default     = true
}

variable "alb_access_log_retention_days" {
  description = "Days the ALB access logs stay in S3."
  type        = number
  default     = 90
}

# --- E-mail -----------------------------------------------------------------------------------

variable "ses_domain" {
  description = "Domain verified in SES for alert e-mail (its DKIM records must be published)."
  type        = string
}

variable "ses_mail_from_subdomain" {
  description = "Custom MAIL FROM subdomain of ses_domain (empty to use amazonses.com)."
  type        = string
  default     = "mail"
}

variable "alert_from_address" {
  description = "Address alerts are sent from; the task role may send as this address only."
  type        = string
  validation {
    condition     = endswith(var.alert_from_address, "@${var.ses_domain}")
    error_message = "alert_from_address must be an address at ses_domain."
  }
}

variable "alert_from_name" {
  description = "Display name of the alert sender."
  type        = string
  default     = "Spendlens"
}

variable "ses_sandbox_recipient_identity_arns" {
  description = "While the account is in the SES sandbox: ARNs of the verified recipient identities (empty once production access is granted)."
  type        = list(string)
  default     = []
}

# --- Application ------------------------------------------------------------------------------

variable "image_tag" {
  description = "Image tag Terraform's task definitions start with (the first tag you push); CI deploys later tags."
  type        = string
}

variable "ecr_repository_name" {
  description = "Name of the ECR repository."
  type        = string
  default     = "spendlens"
}

variable "customer_role_names" {
  description = "Role names customers create (terraform/modules/customer-role role_name); the platform may assume them, under any path, in any account."
  type        = list(string)
  default     = ["SpendlensAccess"]
}

variable "billing_export_bucket_arns" {
  description = "S3 buckets whose FOCUS exports import_billing s3://... reads with the platform's role."
  type        = list(string)
  default     = []
}

variable "athena_export_bucket_arns" {
  description = "S3 buckets of the AWS Data Exports that import_billing athena://... queries; empty: no Athena workgroup."
  type        = list(string)
  default     = []
}

variable "athena_export_prefix" {
  description = "Key prefix of the exports in those buckets (empty: the whole buckets)."
  type        = string
  default     = ""
}

variable "athena_glue_database_names" {
  description = "Glue databases describing the exports (the DATABASE of athena:// URIs)."
  type        = list(string)
  default     = ["spendlens_exports"]
}

variable "athena_export_kms_key_arns" {
  description = "KMS keys of SSE-KMS encrypted exports, if any."
  type        = list(string)
  default     = []
}

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Bytes one import query may scan before Athena cancels it (5 USD per TB). Default 1 TiB."
  type        = number
  default     = 1099511627776
}

variable "extra_environment" {
  description = "Further non-secret settings for every container (LOG_LEVEL, Q_WORKERS, SES_REGION, ...)."
  type        = map(string)
  default     = {}
}

variable "start_services" {
  description = "Run the web and worker services; false for the first apply (see terraform/README.md)."
  type        = bool
  default     = true
}

variable "web_min_count" {
  description = "Minimum number of web tasks (0.5 vCPU, 1 GB each)."
  type        = number
  default     = 2
}

variable "web_max_count" {
  description = "Maximum number of web tasks."
  type        = number
  default     = 6
}

variable "web_requests_per_target" {
  description = "ALB requests per web task per minute the autoscaler aims at (0 to scale on CPU only)."
  type        = number
  default     = 1000
}

variable "worker_count" {
  description = "Number of worker (qcluster) tasks."
  type        = number
  default     = 1
}

variable "queue_broker" {
  description = "django-q2 broker (Q_BROKER): empty keeps the application's default (the database, or Redis when extra_environment sets REDIS_URL); orm, redis or sqs set it. sqs creates the SQS queue, its dead-letter queue and the task role's permission, and scales the workers on the queue's depth."
  type        = string
  default     = ""
  validation {
    condition     = contains(["", "orm", "redis", "sqs"], var.queue_broker)
    error_message = "queue_broker must be empty, orm, redis or sqs."
  }
}

variable "worker_max_count" {
  description = "Most worker tasks when they scale on the SQS queue's depth (queue_broker = sqs); worker_count is the minimum."
  type        = number
  default     = 4
}

variable "worker_backlog_per_task" {
  description = "Tasks waiting in the SQS queue per worker task the autoscaler aims at (queue_broker = sqs)."
  type        = number
  default     = 20
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64 (must match the image CI builds)."
  type        = string
  default     = "X86_64"
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps every log group of the stack."
  type        = number
  default     = 30
}

# --- Database ---------------------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.small"
}

variable "db_multi_az" {
  description = "Synchronous standby in a second AZ (doubles the database cost)."
  type        = bool
  default     = true
}

variable "db_allocated_storage_gb" {
  description = "Initial gp3 storage in GiB (autoscaling up to 100)."
  type        = number
  default     = 20
}

variable "db_backup_retention_days" {
  description = "Days of automated backups."
  type        = number
  default     = 14
}

# --- Continuous deployment ---------------------------------------------------------------------

variable "github_repository" {
  description = "owner/name of the GitHub repository whose deploy workflow (environment \"production\") may deploy; empty creates no deploy role."
  type        = string
  default     = ""
}

variable "github_oidc_provider_arn" {
  description = "ARN of an existing token.actions.githubusercontent.com OIDC provider in the account; empty creates one."
  type        = string
  default     = ""
}
