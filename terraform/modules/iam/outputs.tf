output "execution_role_arn" {
  description = "Execution role of every task definition."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "Task role of the application: the platform principal customers trust (PLATFORM_ROLE_ARN)."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Name of the task role."
  value       = aws_iam_role.task.name
}
