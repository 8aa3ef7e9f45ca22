variable "name" {
  description = "Name of the cluster and prefix of the task definition families and log groups (for example spendlens)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets the tasks run in (no public IPs)."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Give private subnets in at least two availability zones."
  }
}

variable "alb_security_group_id" {
  description = "Security group of the ALB: the only source admitted on the container port."
  type        = string
}

variable "database_security_group_id" {
  description = "Security group of the database (the tasks' only non-HTTPS egress)."
  type        = string
}

variable "target_group_arn" {
  description = "ALB target group the web service registers in."
  type        = string
}

variable "https_listener_arn" {
  description = "HTTPS listener that attaches the target group to the ALB (the web service is created after it)."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the ALB (request-count scaling)."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the target group (request-count scaling)."
  type        = string
}

variable "image_repository_url" {
  description = "ECR repository URL of the Spendlens image."
  type        = string
}

variable "image_tag" {
  description = "Image tag Terraform's task definition revisions use (CI registers later revisions with newer tags)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid, immutable tag (the commit SHA CI pushes), not latest."
  }
}

variable "execution_role_arn" {
  description = "Execution role (image pull, logs, secret injection)."
  type        = string
}

variable "task_role_arn" {
  description = "Task role of the application; also passed to it as PLATFORM_ROLE_ARN."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the log groups and ECS Exec sessions."
  type        = string
}

variable "secret_arns" {
  description = "Secret environment variables: name => ARN of the SSM SecureString parameter or Secrets Manager secret (injected with valueFrom). Must include SECRET_KEY and DATABASE_URL."
  type        = map(string)
  validation {
    condition     = contains(keys(var.secret_arns), "SECRET_KEY") && contains(keys(var.secret_arns), "DATABASE_URL")
    error_message = "secret_arns must provide SECRET_KEY and DATABASE_URL."
  }
  validation {
    condition     = alltrue([for v in values(var.secret_arns) : can(regex("^arn:aws[a-z-]*:(ssm|secretsmanager):", v))])
    error_message = "secret_arns values must be SSM parameter or Secrets Manager secret ARNs, never the secret values themselves."
  }
}

variable "create_dbinit_task" {
  description = "Create the one-off dbinit task definition (needs db_master_secret_arn)."
  type        = bool
  default     = true
}

variable "db_master_secret_arn" {
  description = "ARN of the RDS-managed master secret, read by the dbinit task."
  type        = string
  default     = ""
}

variable "allowed_hosts" {
  description = "Host names the site answers to (ALLOWED_HOSTS; CSRF_TRUSTED_ORIGINS gets https:// of each)."
  type        = list(string)
  validation {
    condition     = length(var.allowed_hosts) > 0 && alltrue([for h in var.allowed_hosts : can(regex("^[a-z0-9.-]+$", h))])
    error_message = "allowed_hosts must list at least one bare host name (no scheme, no port)."
  }
}

variable "site_url" {
  description = "Public URL of the deployment (SITE_URL, used in e-mail links)."
  type        = string
  validation {
    condition     = can(regex("^https://", var.site_url))
    error_message = "site_url must be an https:// URL."
  }
}

variable "default_from_email" {
  description = "DEFAULT_FROM_EMAIL, for example \"Spendlens <alerts@example.com>\" (the address must be the SES identity's)."
  type        = string
}

variable "extra_environment" {
  description = "Further non-secret settings (for example LOG_LEVEL, Q_WORKERS, SES_REGION). Secrets go in secret_arns."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.extra_environment) : !can(regex("(?i)(SECRET|PASSWORD|TOKEN|DATABASE_URL|KEY)", k))])
    error_message = "extra_environment must not carry secrets (names matching SECRET, PASSWORD, TOKEN, DATABASE_URL or KEY): put them in SSM and pass them in secret_arns."
  }
}

variable "start_services" {
  description = "Run the services. Set false for the first apply (before the image, the secrets and the migrations exist)."
  type        = bool
  default     = true
}

variable "readonly_root_filesystem" {
  description = "Run the containers with a read-only root file system (/tmp is a writable task volume)."
  type        = bool
  default     = true
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64 (ARM64 is about 20 % cheaper; the image must be built for it)."
  type        = string
  default     = "X86_64"
  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "container_port" {
  description = "Port gunicorn listens on."
  type        = number
  default     = 8000
}

variable "web_cpu" {
  description = "CPU units of a web task (1024 = 1 vCPU)."
  type        = number
  default     = 512
}

variable "web_memory" {
  description = "Memory (MiB) of a web task."
  type        = number
  default     = 1024
}

variable "web_concurrency" {
  description = "gunicorn worker processes per web task (WEB_CONCURRENCY); each has 2 threads."
  type        = number
  default     = 3
}

variable "web_min_count" {
  description = "Minimum (and initial) number of web tasks."
  type        = number
  default     = 2
  validation {
    condition     = var.web_min_count >= 1
    error_message = "web_min_count must be at least 1 (use start_services = false to stop everything)."
  }
}

variable "web_max_count" {
  description = "Maximum number of web tasks the autoscaler may run."
  type        = number
  default     = 6
}

variable "web_cpu_target_percent" {
  description = "Average CPU utilization the web autoscaler tracks."
  type        = number
  default     = 60
  validation {
    condition     = var.web_cpu_target_percent >= 10 && var.web_cpu_target_percent <= 90
    error_message = "web_cpu_target_percent must be between 10 and 90."
  }
}

variable "web_requests_per_target" {
  description = "ALB requests per web task per minute the autoscaler tracks (0 disables this policy)."
  type        = number
  default     = 1000
}

variable "worker_cpu" {
  description = "CPU units of the worker task."
  type        = number
  default     = 512
}

variable "worker_memory" {
  description = "Memory (MiB) of the worker task."
  type        = number
  default     = 1024
}

variable "worker_count" {
  description = "Number of worker (qcluster) tasks; the minimum when they scale on worker_queue_name."
  type        = number
  default     = 1
  validation {
    condition     = var.worker_count >= 1
    error_message = "worker_count must be at least 1: a worker also runs the schedules (use start_services = false to stop everything)."
  }
}

variable "worker_queue_name" {
  description = "SQS queue of the tasks (Q_BROKER=sqs): the worker service scales on its backlog. Empty: a fixed worker_count."
  type        = string
  default     = ""
}

variable "worker_max_count" {
  description = "Most worker tasks the queue-depth autoscaler may run (with worker_queue_name)."
  type        = number
  default     = 4
}

variable "worker_backlog_per_task" {
  description = "Tasks waiting in the queue per running worker task the autoscaler tracks (with worker_queue_name)."
  type        = number
  default     = 20
  validation {
    condition     = var.worker_backlog_per_task >= 1
    error_message = "worker_backlog_per_task must be at least 1."
  }
}

variable "oneoff_cpu" {
  description = "CPU units of the migrate task."
  type        = number
  default     = 512
}

variable "oneoff_memory" {
  description = "Memory (MiB) of the migrate task."
  type        = number
  default     = 1024
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the containers' logs."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs accepts."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
