from django.apps import AppConfig


class CommitmentsConfig(AppConfig):
    name = "commitments"
    verbose_name = "Commitments"

    def ready(self):
        from commitments import focus
        from costs.signals import store_changed, store_expired

        store_changed.connect(focus.on_store_changed, dispatch_uid="commitments")
        store_expired.connect(focus.on_store_expired, dispatch_uid="commitments")
