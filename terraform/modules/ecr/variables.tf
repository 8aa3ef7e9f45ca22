variable "name" {
  description = "Repository name (for example spendlens)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name))
    error_message = "name must be a valid ECR repository name (lowercase, digits, . _ - and /)."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images at rest."
  type        = string
}

variable "keep_tagged_images" {
  description = "How many images to keep; older ones expire (keep enough to roll back)."
  type        = number
  default     = 30
  validation {
    condition     = var.keep_tagged_images >= 5
    error_message = "keep_tagged_images must be at least 5, so a rollback target always exists."
  }
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images expire."
  type        = number
  default     = 7
  validation {
    condition     = var.untagged_expiry_days >= 1
    error_message = "untagged_expiry_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags for the repository."
  type        = map(string)
  default     = {}
}
