from django.contrib.admin.apps import AdminConfig


class SpendlensAdminConfig(AdminConfig):
    """django.contrib.admin with our site class (config/admin_site.py).

    The project's only AppConfig, so it also registers the project-wide system checks."""

    default_site = "config.admin_site.SpendlensAdminSite"

    def ready(self):
        super().ready()
        from django.db.models.signals import post_migrate

        from config import sqs  # noqa: F401  (registers the SQS queue check)
        from config.cache import create_cache_tables

        post_migrate.connect(create_cache_tables, sender=self, dispatch_uid="cache-tables")
