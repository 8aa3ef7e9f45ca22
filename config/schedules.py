"""Recurring django-q2 schedules, declared once and created idempotently.

`migrate` ends by calling ensure_schedules() (post_migrate), so every deploy converges the
schedule table on this list: a redeploy updates schedules in place and never duplicates them.
Missed runs are not replayed after downtime: Q_CLUSTER["catch_up"] is False for the cluster
(django-q2 has no per-schedule switch), so notifications never arrive as a burst.
"""

from dataclasses import dataclass

from django.utils import timezone

PRICE_REFRESH_MINUTES = 7 * 24 * 60
COST_PARTITIONS_MINUTES = 24 * 60
WEEKLY_REPORT_MINUTES = 60
EXPIRED_TOKENS_MINUTES = 24 * 60


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    minutes: int


def _declared() -> list[ScheduleSpec]:
    from django.conf import settings

    return [
        ScheduleSpec(
            "sync-costs",
            "costs.tasks.sync_all_account_costs",
            settings.COST_SYNC_INTERVAL_MINUTES,
        ),
        ScheduleSpec(
            "sync-commitments",
            "commitments.tasks.sync_all_commitments",
            settings.COMMITMENT_SYNC_INTERVAL_MINUTES,
        ),
        ScheduleSpec(
            "sync-inventory", "fleet.tasks.sync_all_inventory", settings.INVENTORY_INTERVAL_MINUTES
        ),
        ScheduleSpec(
            "utilization-and-detection",
            "findings.tasks.collect_and_detect_all",
            settings.DETECTION_INTERVAL_MINUTES,
        ),
        ScheduleSpec(
            "check-budgets", "alerts.tasks.check_budgets_all", settings.BUDGET_INTERVAL_MINUTES
        ),
        ScheduleSpec(
            "send-alerts", "alerts.tasks.send_alerts_all", settings.ALERT_INTERVAL_MINUTES
        ),
        # Hourly, because each member's report day begins at its own hour in their
        # organisation's time zone; a member is served once a week (alerts/weekly_send.py).
        ScheduleSpec(
            "weekly-reports", "alerts.tasks.send_weekly_reports_all", WEEKLY_REPORT_MINUTES
        ),
        ScheduleSpec(
            "auto-stop", "actions.tasks.run_auto_stop_all", settings.AUTO_STOP_INTERVAL_MINUTES
        ),
        ScheduleSpec(
            "instance-schedules", "actions.tasks.run_schedules", settings.SCHEDULE_INTERVAL_MINUTES
        ),
        # Daily: next months' cost partitions exist long before their first row (the DEFAULT
        # partition would catch them, at the price of a move later), and expired months go.
        ScheduleSpec(
            "cost-partitions", "costs.tasks.maintain_cost_partitions", COST_PARTITIONS_MINUTES
        ),
        # Expired API tokens are refused as they expire; this deletes them (accounts/tokens.py).
        ScheduleSpec(
            "expired-api-tokens", "accounts.tasks.delete_expired_api_tokens", EXPIRED_TOKENS_MINUTES
        ),
        # AWS changes on-demand prices rarely; weekly keeps the cache well inside its
        # 35-day staleness mark (costs/prices.py).
        ScheduleSpec(
            "refresh-prices", "findings.price_refresh.refresh_fleet_prices", PRICE_REFRESH_MINUTES
        ),
    ]


def ensure_schedules(specs=None):
    """Create or update each schedule by name; return the names written."""
    from django_q.models import Schedule

    specs = _declared() if specs is None else specs
    for spec in specs:
        fields = {
            "func": spec.func,
            "schedule_type": Schedule.MINUTES,
            "minutes": spec.minutes,
            "repeats": -1,
        }
        # next_run is set only on creation so a redeploy never resets a schedule's clock.
        Schedule.objects.update_or_create(
            name=spec.name,
            defaults=fields,
            create_defaults={**fields, "next_run": timezone.now()},
        )
    return [spec.name for spec in specs]
