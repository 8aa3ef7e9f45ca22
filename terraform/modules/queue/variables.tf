variable "name" {
  description = "Name of the task queue (Q_SQS_QUEUE); the dead-letter queue is <name>-dead-letter."
  type        = string
  validation {
    # Standard queues only: django-q2 sends no MessageGroupId, which a .fifo queue requires.
    condition     = can(regex("^[A-Za-z0-9_-]{1,68}$", var.name))
    error_message = "name must be 1-68 letters, digits, hyphens or underscores (a standard queue; <name>-dead-letter must fit in 80)."
  }
}

variable "task_role_name" {
  description = "Name of the application's task role, which gets the permission to use the queue."
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the task queue: set it to the application's Q_RETRY (default 1200)."
  type        = number
  default     = 1200
  validation {
    condition     = var.visibility_timeout_seconds >= 1 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 1 and 43200 (SQS's limit; Q_RETRY must fit too)."
  }
}

variable "message_retention_seconds" {
  description = "How long an undelivered task waits in the queue (default 4 days)."
  type        = number
  default     = 345600
  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "dead_letter_retention_seconds" {
  description = "How long a dead letter is kept for inspection or redrive (default 14 days, SQS's maximum)."
  type        = number
  default     = 1209600
  validation {
    condition     = var.dead_letter_retention_seconds >= 60 && var.dead_letter_retention_seconds <= 1209600
    error_message = "dead_letter_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "max_receive_count" {
  description = "Receives without acknowledgement after which a task moves to the dead-letter queue."
  type        = number
  default     = 5
  validation {
    condition     = var.max_receive_count >= 2 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 2 and 1000 (1 would dead-letter a task whose worker was merely replaced)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting both queues (the deployment's key); empty for SQS-managed encryption."
  type        = string
  default     = ""
  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (or empty)."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when tasks reach the dead-letter queue (for example an SNS topic)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for the queues and the alarm."
  type        = map(string)
  default     = {}
}
