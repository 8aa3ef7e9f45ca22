# Spendlens production: ECS Fargate (web + worker + one-off migrate/dbinit) behind an ALB,
# RDS PostgreSQL, SES for alert e-mail, optionally an SQS task queue (queue_broker = sqs).
# Deploy steps: terraform/README.md.

locals {
  # With the default name the cluster, services and task families are the names
  # .github/workflows/deploy.yml assumes (spendlens, spendlens-web, spendlens-migrate, ...).
  name             = var.name
  parameter_prefix = "/${var.name}/${var.environment}"

  # The broker setting every container gets; empty keeps the application's default.
  sqs_broker = var.queue_broker == "sqs"
  queue_environment = merge(
    var.queue_broker == "" ? {} : { Q_BROKER = var.queue_broker },
    local.sqs_broker ? { Q_SQS_QUEUE = module.queue[0].name } : {},
  )
}

module "secrets" {
  source = "../../modules/secrets"

  name             = local.name
  parameter_prefix = local.parameter_prefix
  parameter_names  = ["SECRET_KEY", "DATABASE_URL", "METRICS_TOKEN"]
}

module "network" {
  source = "../../modules/network"

  name                    = local.name
  cidr_block              = var.vpc_cidr_block
  availability_zones      = var.availability_zones
  nat_gateway_mode        = var.nat_gateway_mode
  flow_log_retention_days = var.log_retention_days
  kms_key_arn             = module.secrets.kms_key_arn
}

module "ecr" {
  source = "../../modules/ecr"

  name        = var.ecr_repository_name
  kms_key_arn = module.secrets.kms_key_arn
}

module "ses" {
  source = "../../modules/ses"

  name                = local.name
  domain              = var.ses_domain
  mail_from_subdomain = var.ses_mail_from_subdomain
}

module "iam" {
  source = "../../modules/iam"

  name                       = local.name
  ecr_repository_arn         = module.ecr.repository_arn
  log_group_prefix           = module.ecs.log_group_prefix
  parameter_prefix           = local.parameter_prefix
  extra_secret_arns          = [module.rds.master_user_secret_arn]
  kms_key_arn                = module.secrets.kms_key_arn
  customer_role_names        = var.customer_role_names
  ses_identity_arn           = module.ses.identity_arn
  ses_extra_resource_arns    = concat([module.ses.configuration_set_arn], var.ses_sandbox_recipient_identity_arns)
  ses_from_address           = var.alert_from_address
  billing_export_bucket_arns = var.billing_export_bucket_arns
}

# The SQS broker's queue (queue_broker = sqs). Its visibility timeout is the application's
# Q_RETRY, so a task is redelivered after the same delay whichever reader received it.
module "queue" {
  source = "../../modules/queue"
  count  = local.sqs_broker ? 1 : 0

  name                       = local.name
  task_role_name             = module.iam.task_role_name
  visibility_timeout_seconds = tonumber(lookup(var.extra_environment, "Q_RETRY", "1200"))
  kms_key_arn                = module.secrets.kms_key_arn
}

# import_billing athena://...: the Athena workgroup, its results bucket and the task role's
# policy, only when the exports' buckets are given.
module "athena" {
  source = "../../modules/athena"
  count  = length(var.athena_export_bucket_arns) > 0 ? 1 : 0

  name                           = local.name
  task_role_name                 = module.iam.task_role_name
  export_bucket_arns             = var.athena_export_bucket_arns
  export_prefix                  = var.athena_export_prefix
  glue_database_names            = var.athena_glue_database_names
  export_kms_key_arns            = var.athena_export_kms_key_arns
  bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff_per_query
  kms_key_arn                    = module.secrets.kms_key_arn
}

module "alb" {
  source = "../../modules/alb"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  public_subnet_ids         = module.network.public_subnet_ids
  certificate_arn           = var.certificate_arn
  app_security_group_id     = module.ecs.security_group_id
  deletion_protection       = true
  access_log_retention_days = var.alb_access_log_retention_days
  waf_enabled               = var.waf_enabled
  log_retention_days        = var.log_retention_days
  kms_key_arn               = module.secrets.kms_key_arn
}

module "rds" {
  source = "../../modules/rds"

  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.ecs.security_group_id
  kms_key_arn              = module.secrets.kms_key_arn
  instance_class           = var.db_instance_class
  multi_az                 = var.db_multi_az
  allocated_storage_gb     = var.db_allocated_storage_gb
  backup_retention_days    = var.db_backup_retention_days
  log_retention_days       = var.log_retention_days
}

module "ecs" {
  source = "../../modules/ecs"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  alb_security_group_id      = module.alb.security_group_id
  database_security_group_id = module.rds.security_group_id
  target_group_arn           = module.alb.target_group_arn
  https_listener_arn         = module.alb.https_listener_arn
  alb_arn_suffix             = module.alb.arn_suffix
  target_group_arn_suffix    = module.alb.target_group_arn_suffix

  image_repository_url = module.ecr.repository_url
  image_tag            = var.image_tag
  execution_role_arn   = module.iam.execution_role_arn
  task_role_arn        = module.iam.task_role_arn
  kms_key_arn          = module.secrets.kms_key_arn

  # Secrets: ARNs only; ECS injects the values at task start.
  secret_arns = {
    SECRET_KEY    = module.secrets.parameter_arns["SECRET_KEY"]
    DATABASE_URL  = module.secrets.parameter_arns["DATABASE_URL"]
    METRICS_TOKEN = module.secrets.parameter_arns["METRICS_TOKEN"]
  }
  create_dbinit_task   = true
  db_master_secret_arn = module.rds.master_user_secret_arn

  allowed_hosts      = [var.domain_name]
  site_url           = "https://${var.domain_name}"
  default_from_email = "${var.alert_from_name} <${var.alert_from_address}>"
  extra_environment  = merge(var.extra_environment, local.queue_environment)

  start_services          = var.start_services
  web_min_count           = var.web_min_count
  web_max_count           = var.web_max_count
  worker_count            = var.worker_count
  worker_queue_name       = local.sqs_broker ? module.queue[0].name : ""
  worker_max_count        = var.worker_max_count
  worker_backlog_per_task = var.worker_backlog_per_task
  cpu_architecture        = var.cpu_architecture
  log_retention_days      = var.log_retention_days
  web_requests_per_target = var.web_requests_per_target
}

# The role .github/workflows/deploy.yml assumes (AWS_DEPLOY_ROLE_ARN); skipped while
# github_repository is empty.
module "github_deploy" {
  source = "../../modules/github-deploy"
  count  = var.github_repository == "" ? 0 : 1

  name                 = local.name
  github_repository    = var.github_repository
  github_environment   = "production"
  create_oidc_provider = var.github_oidc_provider_arn == ""
  oidc_provider_arn    = var.github_oidc_provider_arn
  ecr_repository_arn   = module.ecr.repository_arn
  cluster_name         = module.ecs.cluster_name
  cluster_arn          = module.ecs.cluster_arn
  service_names        = [module.ecs.web_service_name, module.ecs.worker_service_name]
  migrate_task_family  = module.ecs.migrate_task_definition_family
  pass_role_arns       = [module.iam.execution_role_arn, module.iam.task_role_arn]
}
