from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_schedules(sender, **kwargs):
    from config.schedules import ensure_schedules

    ensure_schedules()


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        # Keyed on this app so the schedules are written once per migrate, not once per app.
        post_migrate.connect(_ensure_schedules, sender=self, dispatch_uid="spendlens-schedules")
