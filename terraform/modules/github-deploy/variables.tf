variable "name" {
  description = "Name prefix of the role (for example spendlens)."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose deploy workflow may assume the role."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "github_environment" {
  description = "GitHub environment the deploy job runs in; only tokens of that environment are trusted."
  type        = string
  default     = "production"
}

variable "create_oidc_provider" {
  description = "Create GitHub's OIDC provider in this account (false if it exists: pass oidc_provider_arn)."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "ARN of the existing token.actions.githubusercontent.com provider, when create_oidc_provider is false."
  type        = string
  default     = ""
}

variable "ecr_repository_arn" {
  description = "The repository the workflow pushes to."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster name."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster ARN (the only cluster the migrate task may run in)."
  type        = string
}

variable "service_names" {
  description = "Services the workflow updates (web, worker)."
  type        = list(string)
}

variable "migrate_task_family" {
  description = "Task definition family the workflow may run as a one-off task."
  type        = string
}

variable "pass_role_arns" {
  description = "Roles the registered task definitions carry (execution and task role)."
  type        = list(string)
  validation {
    condition     = length(var.pass_role_arns) > 0 && alltrue([for a in var.pass_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[^*]+$", a))])
    error_message = "pass_role_arns must be exact role ARNs (no wildcards)."
  }
}

variable "tags" {
  description = "Tags for the role and the provider."
  type        = map(string)
  default     = {}
}
