variable "name" {
  description = "Name of the SES configuration set (for example spendlens)."
  type        = string
}

variable "domain" {
  description = "Domain to verify and send from (for example example.com); DEFAULT_FROM_EMAIL's address must be in it."
  type        = string
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be a lowercase DNS domain name such as example.com."
  }
}

variable "mail_from_subdomain" {
  description = "Subdomain for a custom MAIL FROM (bounce) domain, for SPF alignment under DMARC; empty to use amazonses.com."
  type        = string
  default     = "mail"
  validation {
    condition     = var.mail_from_subdomain == "" || can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.mail_from_subdomain))
    error_message = "mail_from_subdomain must be a single DNS label (or empty)."
  }
}

variable "dmarc_policy" {
  description = "Suggested DMARC record value (output only; start with p=none, tighten once reports look clean)."
  type        = string
  default     = "v=DMARC1; p=none;"
}

variable "tags" {
  description = "Tags for the identity and the configuration set."
  type        = map(string)
  default     = {}
}
