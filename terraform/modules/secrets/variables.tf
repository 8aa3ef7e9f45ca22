variable "name" {
  description = "Name of the deployment (for example spendlens); names the KMS key alias."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "parameter_prefix" {
  description = "SSM path under which the application's secrets live, without a trailing slash (for example /spendlens/prod)."
  type        = string
  validation {
    condition     = can(regex("^(/[A-Za-z0-9_.-]+)+$", var.parameter_prefix))
    error_message = "parameter_prefix must look like /spendlens/prod (leading slash, no trailing slash)."
  }
}

variable "parameter_names" {
  description = "Secret environment variables to create as SecureString parameters (the value is put by the operator)."
  type        = list(string)
  default     = ["SECRET_KEY", "DATABASE_URL"]
  validation {
    condition     = alltrue([for n in var.parameter_names : can(regex("^[A-Z][A-Z0-9_]*$", n))])
    error_message = "parameter_names must be environment variable names (upper case, digits, underscores)."
  }
}

variable "key_deletion_window_days" {
  description = "Waiting period before a scheduled deletion of the KMS key takes effect."
  type        = number
  default     = 30
  validation {
    condition     = var.key_deletion_window_days >= 7 && var.key_deletion_window_days <= 30
    error_message = "key_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
