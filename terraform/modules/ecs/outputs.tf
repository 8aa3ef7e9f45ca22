output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "web_service_name" {
  description = "Name of the web service."
  value       = aws_ecs_service.web.name
}

output "worker_service_name" {
  description = "Name of the worker service."
  value       = aws_ecs_service.worker.name
}

output "task_definition_families" {
  description = "Task definition families (web, worker, migrate, dbinit) that CI registers new revisions of."
  value = {
    web     = aws_ecs_task_definition.web.family
    worker  = aws_ecs_task_definition.worker.family
    migrate = aws_ecs_task_definition.migrate.family
    dbinit  = one(aws_ecs_task_definition.dbinit[*].family)
  }
}

output "migrate_task_definition_family" {
  description = "Family of the one-off migrate task (aws ecs run-task --task-definition <family>)."
  value       = aws_ecs_task_definition.migrate.family
}

output "migrate_task_definition_arn" {
  description = "ARN of the migrate revision Terraform registered."
  value       = aws_ecs_task_definition.migrate.arn
}

output "dbinit_task_definition_family" {
  description = "Family of the one-off dbinit task (null when create_dbinit_task is false)."
  value       = one(aws_ecs_task_definition.dbinit[*].family)
}

output "security_group_id" {
  description = "Security group of the tasks (the database admits 5432 from it only)."
  value       = aws_security_group.tasks.id
}

output "subnet_ids" {
  description = "Subnets the tasks run in (for aws ecs run-task)."
  value       = var.private_subnet_ids
}

output "log_group_prefix" {
  description = "Prefix of the tasks' log groups."
  value       = local.log_group_prefix
}

output "run_task_network_configuration" {
  description = "Ready-made --network-configuration argument for aws ecs run-task (migrate, dbinit)."
  value       = "awsvpcConfiguration={subnets=[${join(",", var.private_subnet_ids)}],securityGroups=[${aws_security_group.tasks.id}],assignPublicIp=DISABLED}"
}
