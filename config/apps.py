from django.contrib.admin.apps import AdminConfig


class SpendlensAdminConfig(AdminConfig):
    """django.contrib.admin with our site class (config/admin_site.py).

    The project's only AppConfig, so it also registers the project-wide system checks."""

    default_site = "config.admin_site.SpendlensAdminSite"

    def ready(self):
        super().ready()
        from config import sqs  # noqa: F401  (registers the SQS queue check)
