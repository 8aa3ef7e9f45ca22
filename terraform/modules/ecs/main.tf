# ECS Fargate: one cluster, one image, four task definitions.
#   web      gunicorn on 8000 (the image's default command) behind the ALB, autoscaled
#   worker   python manage.py qcluster (django-q2)
#   migrate  python manage.py migrate --noinput, run once per deploy (aws ecs run-task)
#   dbinit   creates or updates the application's database role from DATABASE_URL, using the
#            RDS-managed master secret; run once at install and after changing that password
#
# Secrets (SECRET_KEY, DATABASE_URL, the master credentials for dbinit) reach the containers as
# ECS `secrets` (valueFrom an SSM parameter or a Secrets Manager secret ARN), resolved by the
# agent at start; plain `environment` carries only non-secret settings, and a validation on
# extra_environment rejects names that look like secrets.
#
# Workers: worker_count tasks, or with worker_queue_name (the SQS broker) between worker_count and
# worker_max_count, scaled on the queue's backlog per running task.
#
# Deploys (see terraform/README.md): CI pushes an image tagged with the commit, registers new
# revisions of these families with that image, runs migrate, then updates the services.
# Terraform therefore ignores the services' task_definition (and web's desired_count, which the
# autoscaler owns) after creation.

data "aws_region" "current" {}

locals {
  region           = data.aws_region.current.name
  image            = "${var.image_repository_url}:${var.image_tag}"
  log_group_prefix = "/ecs/${var.name}/"
  services_running = var.start_services
  worker_max_count = var.worker_queue_name == "" ? var.worker_count : max(var.worker_count, var.worker_max_count)

  # Non-secret settings only (plain values, visible in the task definition). CACHE_URL: the
  # API throttles count once across every web task and gunicorn worker (in the database: a
  # few queries per API call); extra_environment may point it at Redis instead.
  environment = merge({ CACHE_URL = "dbcache://spendlens_cache" }, var.extra_environment, {
    DEBUG                = "0"
    ALLOWED_HOSTS        = join(",", var.allowed_hosts)
    CSRF_TRUSTED_ORIGINS = join(",", [for h in var.allowed_hosts : "https://${h}"])
    SITE_URL             = var.site_url
    DEFAULT_FROM_EMAIL   = var.default_from_email
    EMAIL_BACKEND        = "anymail.backends.amazon_ses.EmailBackend"
    PLATFORM_ROLE_ARN    = var.task_role_arn
    AWS_DEFAULT_REGION   = local.region
    TMPDIR               = "/tmp"
  })

  # gunicorn's worker heartbeat files go to /dev/shm (tmpfs) so the read-only root file system
  # never matters to it.
  web_environment = {
    GUNICORN_CMD_ARGS = "--worker-tmp-dir /dev/shm"
    WEB_CONCURRENCY   = tostring(var.web_concurrency)
  }

  # Secrets of the application containers: name => ARN of the SSM parameter / secret.
  app_secrets = var.secret_arns

  # dbinit reads the master credentials from the JSON keys of the RDS-managed secret.
  dbinit_secrets = {
    DATABASE_URL       = var.secret_arns["DATABASE_URL"]
    DB_MASTER_USERNAME = "${var.db_master_secret_arn}:username::"
    DB_MASTER_PASSWORD = "${var.db_master_secret_arn}:password::"
  }

  # Shared by every container: read-only root, a writable /tmp volume, no Linux capabilities,
  # an init process that reaps the qcluster's children.
  container_base = {
    image                  = local.image
    essential              = true
    readonlyRootFilesystem = var.readonly_root_filesystem
    privileged             = false
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    linuxParameters = {
      initProcessEnabled = true
      capabilities       = { add = [], drop = ["ALL"] }
    }
  }

  dbinit_script = <<-PY
    import os, urllib.parse as up
    import psycopg
    from psycopg import sql

    url = up.urlsplit(os.environ["DATABASE_URL"])
    user, password = up.unquote(url.username or ""), up.unquote(url.password or "")
    dbname = url.path.lstrip("/")
    if not (url.hostname and user and password and dbname):
        raise SystemExit("DATABASE_URL must look like postgres://USER:PASSWORD@HOST:5432/DBNAME")
    admin = dict(host=url.hostname, port=url.port or 5432, autocommit=True,
                 sslmode=os.environ.get("PGSSLMODE", "require"),
                 user=os.environ["DB_MASTER_USERNAME"], password=os.environ["DB_MASTER_PASSWORD"])
    role, db = sql.Identifier(user), sql.Identifier(dbname)
    with psycopg.connect(dbname="postgres", **admin) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        verb = sql.SQL("ALTER" if exists else "CREATE")
        conn.execute(sql.SQL("{} ROLE {} WITH LOGIN PASSWORD {}").format(verb, role, sql.Literal(password)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(db))
        conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, role))
    with psycopg.connect(dbname=dbname, **admin) as conn:
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(role))
    print(f"database role {user} {'updated' if exists else 'created'}; it may create tables in {dbname}")
  PY
}

# --- Logs -------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days, as the product specifies) to bound CloudWatch cost; these are operational logs, not the audit trail (CloudTrail).
  for_each = toset(["web", "worker", "oneoff", "exec"])

  name              = "${local.log_group_prefix}${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# --- Cluster ----------------------------------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  # ECS Exec stays off on the services; should someone turn it on, sessions are logged,
  # encrypted, and go to a log group with a retention.
  configuration {
    execute_command_configuration {
      kms_key_id = var.kms_key_arn
      logging    = "OVERRIDE"
      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.this["exec"].name
      }
    }
  }

  tags = var.tags
}

# --- Network ----------------------------------------------------------------------------------

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Spendlens tasks: 8000 from the ALB; out to HTTPS (AWS APIs) and PostgreSQL only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-tasks" })
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "gunicorn from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = var.alb_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs (STS, SES, ECR, SSM, Logs, S3) through the NAT gateway or the S3 endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "postgres" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.database_security_group_id
}

# --- Task definitions -------------------------------------------------------------------------

resource "aws_ecs_task_definition" "web" {
  family                   = "${var.name}-web"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.web_cpu
  memory                   = var.web_memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn
  skip_destroy             = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_base, {
    name         = "web"
    portMappings = [{ containerPort = var.container_port, protocol = "tcp" }]
    environment  = [for k, v in merge(local.environment, local.web_environment) : { name = k, value = v }]
    secrets      = [for k, v in local.app_secrets : { name = k, valueFrom = v }]
    stopTimeout  = 30
    healthCheck = {
      command     = ["CMD", "python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:${var.container_port}/health', timeout=4).status == 200 else 1)"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 30
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this["web"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "web"
      }
    }
  })])

  tags = var.tags
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${var.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.worker_cpu
  memory                   = var.worker_memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn
  skip_destroy             = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_base, {
    name        = "worker"
    command     = ["python", "manage.py", "qcluster"]
    environment = [for k, v in local.environment : { name = k, value = v }]
    secrets     = [for k, v in local.app_secrets : { name = k, valueFrom = v }]
    # Fargate's maximum: lets the cluster finish or hand back running tasks on SIGTERM.
    stopTimeout = 120
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this["worker"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "worker"
      }
    }
  })])

  tags = var.tags
}

resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.oneoff_cpu
  memory                   = var.oneoff_memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn
  skip_destroy             = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_base, {
    name        = "migrate"
    command     = ["python", "manage.py", "migrate", "--noinput"]
    environment = [for k, v in local.environment : { name = k, value = v }]
    secrets     = [for k, v in local.app_secrets : { name = k, valueFrom = v }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this["oneoff"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "migrate"
      }
    }
  })])

  tags = var.tags
}

resource "aws_ecs_task_definition" "dbinit" {
  count = var.create_dbinit_task ? 1 : 0

  family                   = "${var.name}-dbinit"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = var.execution_role_arn
  # The script talks to PostgreSQL only: no AWS permissions for the container.
  skip_destroy = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_base, {
    name        = "dbinit"
    command     = ["python", "-c", local.dbinit_script]
    environment = [{ name = "PGSSLMODE", value = "require" }]
    secrets     = [for k, v in local.dbinit_secrets : { name = k, valueFrom = v }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this["oneoff"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "dbinit"
      }
    }
  })])

  tags = var.tags
}

# --- Services ---------------------------------------------------------------------------------

# Orders the web service after the listener that attaches the target group to the ALB
# (ECS rejects a target group that belongs to no load balancer).
resource "terraform_data" "listener" {
  input = var.https_listener_arn
}

resource "aws_ecs_service" "web" {
  name                              = "${var.name}-web"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.web.arn
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  desired_count                     = local.services_running ? var.web_min_count : 0
  health_check_grace_period_seconds = 60
  enable_ecs_managed_tags           = true
  propagate_tags                    = "SERVICE"
  enable_execute_command            = false
  wait_for_steady_state             = false

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = var.target_group_arn
    container_name   = "web"
    container_port   = var.container_port
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [terraform_data.listener]
}

resource "aws_ecs_service" "worker" {
  name                    = "${var.name}-worker"
  cluster                 = aws_ecs_cluster.this.id
  task_definition         = aws_ecs_task_definition.worker.arn
  launch_type             = "FARGATE"
  platform_version        = "LATEST"
  desired_count           = local.services_running ? var.worker_count : 0
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  enable_execute_command  = false
  wait_for_steady_state   = false

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  tags = var.tags

  # The worker autoscaling target below owns the count, as the web one does for web.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }
}

# --- Web autoscaling --------------------------------------------------------------------------

resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.web.name}"
  min_capacity       = local.services_running ? var.web_min_count : 0
  max_capacity       = local.services_running ? var.web_max_count : 0
}

resource "aws_appautoscaling_policy" "web_cpu" {
  name               = "${var.name}-web-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension
  resource_id        = aws_appautoscaling_target.web.resource_id

  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
    target_value       = var.web_cpu_target_percent
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
  }
}

resource "aws_appautoscaling_policy" "web_requests" {
  count = var.web_requests_per_target > 0 ? 1 : 0

  name               = "${var.name}-web-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension
  resource_id        = aws_appautoscaling_target.web.resource_id

  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${var.alb_arn_suffix}/${var.target_group_arn_suffix}"
    }
    target_value       = var.web_requests_per_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
  }
}

# --- Worker count and queue-depth autoscaling -------------------------------------------------

# Without a queue to follow min = max = worker_count: the target only carries the count (the
# service ignores desired_count so that the autoscaler, when there is one, is not overridden).
resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker.name}"
  min_capacity       = local.services_running ? var.worker_count : 0
  max_capacity       = local.services_running ? local.worker_max_count : 0
}

# Backlog per task (AWS's recipe for scaling on SQS): messages waiting in the queue divided by
# the running worker tasks (Container Insights), kept near worker_backlog_per_task. At least one
# worker always runs: it also runs the schedules.
resource "aws_appautoscaling_policy" "worker_backlog" {
  count = var.worker_queue_name == "" ? 0 : 1

  name               = "${var.name}-worker-backlog"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  resource_id        = aws_appautoscaling_target.worker.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_backlog_per_task
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    customized_metric_specification {
      metrics {
        id          = "waiting"
        label       = "Tasks waiting in ${var.worker_queue_name}"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = var.worker_queue_name
            }
          }
        }
      }
      metrics {
        id          = "workers"
        label       = "Running worker tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }
      metrics {
        id          = "backlog_per_worker"
        label       = "Tasks waiting per worker task"
        expression  = "waiting / workers"
        return_data = true
      }
    }
  }
}
