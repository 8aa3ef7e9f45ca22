variable "name" {
  description = "Name of the load balancer and prefix of its resources (at most 26 characters: the target group adds -web)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,24}[a-z0-9]$", var.name))
    error_message = "name must be 3-26 lowercase letters, digits or hyphens (ALB and target group name limits)."
  }
}

variable "vpc_id" {
  description = "VPC of the load balancer and its target group."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets in at least two AZs."
  type        = list(string)
  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An ALB needs subnets in at least two availability zones."
  }
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate for the HTTPS listener (issued and DNS-validated in the same Region)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "TLS negotiation policy of the HTTPS listener (TLS 1.3 and 1.2 only by default)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  validation {
    condition     = can(regex("^ELBSecurityPolicy-(TLS13-1-[23]|FS-1-2|TLS-1-2)", var.ssl_policy))
    error_message = "ssl_policy must be a TLS 1.2+ policy (ELBSecurityPolicy-TLS13-1-2-*, -TLS13-1-3-*, -FS-1-2-* or -TLS-1-2-*)."
  }
}

variable "ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to reach the load balancer on 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "app_security_group_id" {
  description = "Security group of the web tasks (the ALB may only send traffic there)."
  type        = string
}

variable "target_port" {
  description = "Port gunicorn listens on in the web container."
  type        = number
  default     = 8000
}

variable "health_check_path" {
  description = "Liveness path the target group probes (answered before host validation)."
  type        = string
  default     = "/health"
}

variable "idle_timeout" {
  description = "Seconds the ALB keeps an idle connection; keep it below gunicorn's keepalive (75 s)."
  type        = number
  default     = 60
  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout < 75
    error_message = "idle_timeout must be between 1 and 74 seconds (below gunicorn's keepalive)."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer until this is turned off."
  type        = bool
  default     = true
}

variable "access_log_retention_days" {
  description = "Days the access logs are kept in S3."
  type        = number
  default     = 90
  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "waf_enabled" {
  description = "Put an AWS WAF web ACL (managed rules, per-IP rate limit) in front of the ALB (about 9 USD a month plus 0.60 USD per million requests)."
  type        = bool
  default     = true
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes a single IP may make before WAF blocks it."
  type        = number
  default     = 2000
  validation {
    condition     = var.waf_rate_limit >= 100
    error_message = "waf_rate_limit must be at least 100 (the WAF minimum)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the WAF logs."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs accepts."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the WAF log group."
  type        = string
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
