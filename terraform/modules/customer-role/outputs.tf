output "role_arn" {
  description = "Paste this ARN into Spendlens (add_account --role-arn or the onboarding form)."
  value       = aws_iam_role.spendlens.arn
}
