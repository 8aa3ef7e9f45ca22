# terraform test (offline: mocked provider, plan only). Evaluates the real container
# definitions, which the HCL-level pytest can only read as expressions.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

variables {
  name                       = "spendlens"
  vpc_id                     = "vpc-0123456789abcdef0"
  private_subnet_ids         = ["subnet-aaaa", "subnet-bbbb"]
  alb_security_group_id      = "sg-alb"
  database_security_group_id = "sg-db"
  target_group_arn           = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/spendlens-web/0123456789abcdef"
  https_listener_arn         = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/spendlens/0123456789abcdef/0123456789abcdef"
  alb_arn_suffix             = "app/spendlens/0123456789abcdef"
  target_group_arn_suffix    = "targetgroup/spendlens-web/0123456789abcdef"
  image_repository_url       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/spendlens"
  image_tag                  = "0123456789abcdef"
  execution_role_arn         = "arn:aws:iam::123456789012:role/spendlens-ecs-execution"
  task_role_arn              = "arn:aws:iam::123456789012:role/spendlens-task"
  kms_key_arn                = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  secret_arns = {
    SECRET_KEY   = "arn:aws:ssm:us-east-1:123456789012:parameter/spendlens/prod/SECRET_KEY"
    DATABASE_URL = "arn:aws:ssm:us-east-1:123456789012:parameter/spendlens/prod/DATABASE_URL"
  }
  db_master_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0000-AbCdEf"
  allowed_hosts        = ["spendlens.example.com"]
  site_url             = "https://spendlens.example.com"
  default_from_email   = "Spendlens <alerts@example.com>"
  extra_environment    = { LOG_LEVEL = "INFO" }
}

run "containers" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for td in [aws_ecs_task_definition.web, aws_ecs_task_definition.worker, aws_ecs_task_definition.migrate, aws_ecs_task_definition.dbinit[0]] : [
        for c in jsondecode(td.container_definitions) : [
          for e in c.environment : length(regexall("(?i)SECRET|PASSWORD|TOKEN|DATABASE_URL|KEY", e.name)) == 0
        ]
      ]
    ]))
    error_message = "A secret-looking name is a plain environment value."
  }

  assert {
    condition = alltrue([
      for td in [aws_ecs_task_definition.web, aws_ecs_task_definition.worker, aws_ecs_task_definition.migrate] :
      toset(["SECRET_KEY", "DATABASE_URL"]) == toset([for s in jsondecode(td.container_definitions)[0].secrets : s.name])
    ])
    error_message = "web, worker and migrate must get SECRET_KEY and DATABASE_URL as secrets."
  }

  assert {
    condition = toset([for s in jsondecode(aws_ecs_task_definition.dbinit[0].container_definitions)[0].secrets : s.valueFrom]) == toset([
      "arn:aws:ssm:us-east-1:123456789012:parameter/spendlens/prod/DATABASE_URL",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0000-AbCdEf:username::",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0000-AbCdEf:password::",
    ])
    error_message = "dbinit reads DATABASE_URL and the master secret's username and password keys."
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_ecs_task_definition.web.container_definitions)[0]), "command")
    error_message = "The web container runs the image's default command (gunicorn)."
  }

  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].command == ["python", "manage.py", "qcluster"] &&
      jsondecode(aws_ecs_task_definition.migrate.container_definitions)[0].command == ["python", "manage.py", "migrate", "--noinput"]
    )
    error_message = "worker runs qcluster, migrate runs migrate --noinput."
  }

  assert {
    condition = alltrue([
      for td in [aws_ecs_task_definition.web, aws_ecs_task_definition.worker, aws_ecs_task_definition.migrate, aws_ecs_task_definition.dbinit[0]] :
      jsondecode(td.container_definitions)[0].readonlyRootFilesystem == true &&
      jsondecode(td.container_definitions)[0].image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/spendlens:0123456789abcdef"
    ])
    error_message = "Every container runs the one image with a read-only root file system."
  }

  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value
      } == {
      ALLOWED_HOSTS        = "spendlens.example.com"
      AWS_DEFAULT_REGION   = "us-east-1"
      CACHE_URL            = "dbcache://spendlens_cache"
      CSRF_TRUSTED_ORIGINS = "https://spendlens.example.com"
      DEBUG                = "0"
      DEFAULT_FROM_EMAIL   = "Spendlens <alerts@example.com>"
      EMAIL_BACKEND        = "anymail.backends.amazon_ses.EmailBackend"
      GUNICORN_CMD_ARGS    = "--worker-tmp-dir /dev/shm"
      LOG_LEVEL            = "INFO"
      PLATFORM_ROLE_ARN    = "arn:aws:iam::123456789012:role/spendlens-task"
      SITE_URL             = "https://spendlens.example.com"
      TMPDIR               = "/tmp"
      WEB_CONCURRENCY      = "3"
    }
    error_message = "The web container's environment is not the expected set of non-secret settings."
  }

  assert {
    condition     = aws_ecs_service.web.name == "spendlens-web" && aws_ecs_service.worker.name == "spendlens-worker" && aws_ecs_task_definition.migrate.family == "spendlens-migrate"
    error_message = "Service and family names must match .github/workflows/deploy.yml's defaults."
  }
}

run "extra_environment_may_move_the_cache_to_redis" {
  command = plan

  variables {
    extra_environment = { CACHE_URL = "rediss://cache.internal:6379/1" }
  }

  assert {
    condition = alltrue([
      for td in [aws_ecs_task_definition.web, aws_ecs_task_definition.worker] :
      one([for e in jsondecode(td.container_definitions)[0].environment : e.value if e.name == "CACHE_URL"]) == "rediss://cache.internal:6379/1"
    ])
    error_message = "extra_environment's CACHE_URL must replace the database cache."
  }
}

run "first_install_runs_nothing" {
  command = plan

  variables {
    start_services = false
  }

  assert {
    condition     = aws_ecs_service.web.desired_count == 0 && aws_ecs_service.worker.desired_count == 0 && aws_appautoscaling_target.web.max_capacity == 0 && aws_appautoscaling_target.worker.max_capacity == 0
    error_message = "start_services = false must run no task."
  }
}

run "workers_are_a_fixed_count_without_a_queue" {
  command = plan

  variables {
    worker_count = 2
  }

  assert {
    condition     = aws_appautoscaling_target.worker.min_capacity == 2 && aws_appautoscaling_target.worker.max_capacity == 2 && length(aws_appautoscaling_policy.worker_backlog) == 0
    error_message = "Without worker_queue_name the worker count is worker_count, not autoscaled."
  }
}

run "workers_scale_on_the_queue_backlog" {
  command = plan

  variables {
    worker_count      = 1
    worker_max_count  = 5
    worker_queue_name = "spendlens"
  }

  assert {
    condition     = aws_appautoscaling_target.worker.min_capacity == 1 && aws_appautoscaling_target.worker.max_capacity == 5 && length(aws_appautoscaling_policy.worker_backlog) == 1
    error_message = "With worker_queue_name the workers scale between worker_count and worker_max_count."
  }

  assert {
    condition = one([
      for m in aws_appautoscaling_policy.worker_backlog[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics :
      m.metric_stat[0].metric[0].dimensions if m.id == "waiting"
    ]) == toset([{ name = "QueueName", value = "spendlens" }])
    error_message = "The backlog metric must read the worker queue."
  }
}

run "rejects_no_worker" {
  command = plan

  variables {
    worker_count = 0
  }

  expect_failures = [var.worker_count]
}

run "rejects_a_secret_in_the_environment" {
  command = plan

  variables {
    extra_environment = { API_TOKEN = "abc" }
  }

  expect_failures = [var.extra_environment]
}

run "rejects_a_secret_value_instead_of_an_arn" {
  command = plan

  variables {
    secret_arns = {
      SECRET_KEY   = "not-an-arn-but-the-key-itself"
      DATABASE_URL = "postgres://spendlens:pw@db:5432/spendlens"
    }
  }

  expect_failures = [var.secret_arns]
}
