from django.contrib.admin.apps import AdminConfig


class SpendlensAdminConfig(AdminConfig):
    """django.contrib.admin with our site class (config/admin_site.py)."""

    default_site = "config.admin_site.SpendlensAdminSite"
