output "alb_dns_name" {
  description = "Point domain_name here (CNAME, or a Route 53 alias with alb_zone_id)."
  value       = module.alb.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the ALB, for a Route 53 alias record."
  value       = module.alb.zone_id
}

output "ecr_repository_url" {
  description = "docker push <ecr_repository_url>:<git sha>"
  value       = module.ecr.repository_url
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.ecs.cluster_name
}

output "web_service_name" {
  description = "ECS service running gunicorn."
  value       = module.ecs.web_service_name
}

output "worker_service_name" {
  description = "ECS service running qcluster."
  value       = module.ecs.worker_service_name
}

output "task_definition_families" {
  description = "Families CI registers new revisions of (web, worker, migrate, dbinit)."
  value       = module.ecs.task_definition_families
}

output "migrate_task_definition_family" {
  description = "aws ecs run-task --task-definition <this> runs the migrations."
  value       = module.ecs.migrate_task_definition_family
}

output "migrate_task_definition_arn" {
  description = "The migrate revision Terraform registered."
  value       = module.ecs.migrate_task_definition_arn
}

output "dbinit_task_definition_family" {
  description = "aws ecs run-task --task-definition <this> creates/updates the application's database role."
  value       = module.ecs.dbinit_task_definition_family
}

output "run_task_subnet_ids" {
  description = "Private subnets for aws ecs run-task."
  value       = module.ecs.subnet_ids
}

output "run_task_security_group_id" {
  description = "Security group for aws ecs run-task."
  value       = module.ecs.security_group_id
}

output "run_task_network_configuration" {
  description = "Ready-made --network-configuration value for aws ecs run-task."
  value       = module.ecs.run_task_network_configuration
}

output "platform_role_arn" {
  description = "The task role customers trust (customer-role's platform_principal_arn, PLATFORM_ROLE_ARN)."
  value       = module.iam.task_role_arn
}

output "execution_role_arn" {
  description = "Execution role of the task definitions (CI's iam:PassRole needs it and the platform role)."
  value       = module.iam.execution_role_arn
}

output "ssm_parameter_names" {
  description = "SSM SecureString parameters to fill (aws ssm put-parameter --overwrite)."
  value       = module.secrets.parameter_names
}

output "kms_key_alias" {
  description = "KMS key alias for the parameters (--key-id)."
  value       = module.secrets.kms_key_alias
}

output "database_address" {
  description = "Host of DATABASE_URL."
  value       = module.rds.address
}

output "database_name" {
  description = "Database of DATABASE_URL."
  value       = module.rds.database_name
}

output "db_master_secret_arn" {
  description = "RDS-managed secret with the master credentials (administration, dbinit)."
  value       = module.rds.master_user_secret_arn
}

output "ses_dns_records" {
  description = "DNS records to publish for SES (DKIM, MAIL FROM, DMARC)."
  value       = module.ses.dns_records
}

output "nat_public_ips" {
  description = "Egress IPs of the platform (what customers' CloudTrail shows)."
  value       = module.network.nat_public_ips
}

output "github_actions_variables" {
  description = "Values for the GitHub repository variables .github/workflows/deploy.yml reads."
  value = {
    AWS_DEPLOY_ROLE_ARN     = one(module.github_deploy[*].role_arn)
    AWS_REGION              = var.region
    ECR_REPOSITORY          = module.ecr.repository_name
    ECS_CLUSTER             = module.ecs.cluster_name
    ECS_WEB_SERVICE         = module.ecs.web_service_name
    ECS_WORKER_SERVICE      = module.ecs.worker_service_name
    ECS_WEB_TASK_FAMILY     = module.ecs.task_definition_families["web"]
    ECS_WORKER_TASK_FAMILY  = module.ecs.task_definition_families["worker"]
    ECS_MIGRATE_TASK_FAMILY = module.ecs.migrate_task_definition_family
  }
}

output "task_queue_name" {
  description = "SQS queue of the background tasks (queue_broker = sqs; null otherwise)."
  value       = one(module.queue[*].name)
}

output "dead_letter_queue_name" {
  description = "SQS dead-letter queue: tasks received 5 times without an acknowledgement (queue_broker = sqs)."
  value       = one(module.queue[*].dead_letter_name)
}

output "athena_workgroup_name" {
  description = "Workgroup of import_billing athena://WORKGROUP/DATABASE.TABLE?period=YYYY-MM (empty without Athena)."
  value       = length(module.athena) > 0 ? module.athena[0].workgroup_name : ""
}
