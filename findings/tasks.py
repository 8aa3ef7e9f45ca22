"""django-q2 entry points of the findings: utilization for detection, then detection."""

from accounts.tasks import account, fan_out
from findings import detection


def collect_and_detect(account_pk: int) -> str:
    cloud_account = account(account_pk)
    collected, errors = detection.collect_utilization(cloud_account)
    resources, resource_errors = detection.collect_resource_metrics(cloud_account)
    result = detection.detect(cloud_account)
    return (
        f"{cloud_account.account_id}: {collected.api_calls + resources.api_calls} GetMetricData "
        f"calls, {len(errors) + len(resource_errors)} errors, "
        f"{result.reconciled.opened} recommendations opened"
    )


def collect_and_detect_all() -> int:
    return fan_out("findings.tasks.collect_and_detect", "detection")
