from django.apps import AppConfig


class AllocationConfig(AppConfig):
    name = "allocation"
    verbose_name = "Allocation"

    def ready(self):
        from allocation import receivers
        from costs.signals import store_changed, store_expired

        store_changed.connect(receivers.reallocate_changed_days, dispatch_uid="allocation")
        store_expired.connect(receivers.expire_old_days, dispatch_uid="allocation")
