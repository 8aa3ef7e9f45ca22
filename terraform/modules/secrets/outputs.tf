output "kms_key_arn" {
  description = "ARN of the deployment's KMS key (pass it to the other modules)."
  value       = aws_kms_key.this.arn
}

output "kms_key_alias" {
  description = "Alias of the KMS key (use it as --key-id when putting parameters)."
  value       = aws_kms_alias.this.name
}

output "parameter_arns" {
  description = "Map of environment variable name to the ARN of its SecureString parameter (for ECS secrets valueFrom)."
  value       = { for k, p in aws_ssm_parameter.secret : k => p.arn }
}

output "parameter_names" {
  description = "Map of environment variable name to the SSM parameter name (for aws ssm put-parameter)."
  value       = { for k, p in aws_ssm_parameter.secret : k => p.name }
}

output "parameter_arn_prefix" {
  description = "ARN pattern covering every parameter of this deployment (for IAM)."
  value       = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${var.parameter_prefix}/*"
}
