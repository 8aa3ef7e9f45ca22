output "name" {
  description = "Name of the task queue (Q_SQS_QUEUE)."
  value       = aws_sqs_queue.tasks.name
}

output "arn" {
  description = "ARN of the task queue."
  value       = aws_sqs_queue.tasks.arn
}

output "url" {
  description = "URL of the task queue."
  value       = aws_sqs_queue.tasks.id
}

output "dead_letter_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.name
}

output "dead_letter_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.arn
}
