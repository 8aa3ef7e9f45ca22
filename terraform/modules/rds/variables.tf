variable "name" {
  description = "Identifier of the DB instance and prefix of its resources (for example spendlens)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,50}[a-z0-9]$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets in at least two AZs."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two availability zones."
  }
}

variable "client_security_group_id" {
  description = "Security group of the ECS tasks: the only source admitted on 5432."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights, the master secret and the exported logs."
  type        = string
}

variable "engine_major_version" {
  description = "PostgreSQL major version; minor versions are upgraded automatically in the maintenance window."
  type        = string
  default     = "16"
  validation {
    condition     = can(regex("^1[4-9]$", var.engine_major_version))
    error_message = "engine_major_version must be a PostgreSQL major version such as 16."
  }
}

variable "instance_class" {
  description = "DB instance class."
  type        = string
  default     = "db.t4g.small"
}

variable "multi_az" {
  description = "Keep a synchronous standby in a second AZ with automatic failover (doubles the instance and storage cost)."
  type        = bool
  default     = true
}

variable "database_name" {
  description = "Database created with the instance."
  type        = string
  default     = "spendlens"
}

variable "master_username" {
  description = "Master user (administration only: the application gets a role of its own)."
  type        = string
  default     = "spendlens_admin"
}

variable "allocated_storage_gb" {
  description = "Initial gp3 storage in GiB."
  type        = number
  default     = 20
  validation {
    condition     = var.allocated_storage_gb >= 20
    error_message = "allocated_storage_gb must be at least 20 (the gp3 minimum)."
  }
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 100
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14
  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "backup_window" {
  description = "Daily backup window (UTC), hh24:mi-hh24:mi."
  type        = string
  default     = "03:00-03:30"
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC), ddd:hh24:mi-ddd:hh24:mi; must not overlap the backup window."
  type        = string
  default     = "sun:04:00-sun:05:00"
}

variable "monitoring_interval" {
  description = "Enhanced monitoring granularity in seconds (1, 5, 10, 15, 30 or 60)."
  type        = number
  default     = 60
  validation {
    condition     = contains([1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be 1, 5, 10, 15, 30 or 60 (0 would turn enhanced monitoring off)."
  }
}

variable "slow_query_log_ms" {
  description = "Statements slower than this many milliseconds are logged."
  type        = number
  default     = 1000
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the exported PostgreSQL logs."
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
