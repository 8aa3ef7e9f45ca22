"""The layout of issue 16: stages as apps whose imports run one way, models moved without loss.

The pipeline's models left the costs app for fleet, findings and actions. The tables kept
their names and rows (SeparateDatabaseAndState), and the content types were renamed, so that
permissions and admin history follow the models. The migration test below rolls a database
back to the last migration before the move, fills it through the historical models, migrates
it forward and compares.
"""

import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps as installed_apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ["accounts", "costs", "fleet", "findings", "actions", "alerts"]
BEFORE_THE_MOVE = [
    ("accounts", "0005_role_arn_help_text_escaped"),
    ("costs", "0006_utilization_network_coverage"),
    ("alerts", "0004_cost_spikes"),
]
MOVED = {
    "instance": "fleet",
    "volume": "fleet",
    "elasticip": "fleet",
    "utilizationday": "fleet",
    "detectionsettings": "findings",
    "recommendation": "findings",
    "instanceaction": "actions",
    "autostoppolicy": "actions",
    "autostopnotice": "actions",
}


def test_the_import_contracts_hold():
    """make lint runs the same check; here a broken contract fails the suite too."""
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(  # noqa: S603 - our own venv's tool, fixed arguments
        [str(linter)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "each stage imports only the stages before it KEPT" in result.stdout
    assert "No stage imports the project's wiring" in result.stdout


def test_the_contract_lists_every_stage_in_the_order_the_apps_are_installed():
    """A new app outside the contract could import anything: it must be named in it."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    stages = [name.strip() for layer in reversed(layers) for name in layer.split("|")]
    ours = [app.name for app in installed_apps.get_app_configs() if (ROOT / app.name).is_dir()]

    assert sorted(stages) == sorted(a for a in ours if a != "config")
    assert [s for s in stages if s in PIPELINE] == [a for a in ours if a in PIPELINE]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/costs/instance/", "/admin/fleet/instance/"),
        (
            "/admin/costs/recommendation/5/change/?x=1",
            "/admin/findings/recommendation/5/change/?x=1",
        ),
        ("/admin/costs/instanceaction/", "/admin/actions/instanceaction/"),
    ],
)
def test_links_to_the_old_admin_pages_still_lead_there(client, old, new):
    """Alert e-mails sent before the move link to /admin/costs/<model>/..."""
    response = client.get(old)

    assert response.status_code == 301
    assert response["Location"] == new


def test_the_cost_stores_own_admin_pages_stay_where_they_were():
    assert reverse("admin:costs_costrecord_changelist") == "/admin/costs/costrecord/"


def test_a_management_command_prints_no_library_banner():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**_environment(), "DEBUG": "1", "LOG_FORMAT": "plain", "LOG_LEVEL": "INFO"},
    )

    assert result.returncode == 0, result.stderr
    assert "AXES" not in result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def _environment():
    import os

    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


# --- The migration ---------------------------------------------------------------------------


def _fill(apps):
    """Rows of every moved model, through the models as they were before the move."""
    organization = apps.get_model("accounts", "Organization").objects.create(
        name="Before", slug="before"
    )
    account = apps.get_model("accounts", "CloudAccount").objects.create(
        organization=organization,
        name="Old",
        account_id="123456789012",
        role_arn="arn:aws:iam::123456789012:role/SpendlensAccess",
        external_id="e" * 64,
        regions=["us-east-1"],
    )
    get = lambda name: apps.get_model("costs", name)  # noqa: E731
    now = timezone.now()
    for n in range(3):
        instance = get("Instance").objects.create(
            account=account,
            region="us-east-1",
            instance_id=f"i-{n}",
            instance_type="t3.large",
            state="running",
        )
        for back in range(4):
            get("UtilizationDay").objects.create(
                instance=instance,
                day=date(2026, 11, 1) + timedelta(days=back),
                hours=24,
                cpu_avg=1.5 + n,
                cpu_max=3.0,
                cpu_p95=2.0,
                network_bytes=1000 * (n + back),
                network_hours=24,
            )
        rec = get("Recommendation").objects.create(
            account=account,
            kind="idle_instance",
            resource_id=instance.instance_id,
            region="us-east-1",
            instance=instance,
            summary=f"{n} is idle",
            action="Stop it",
            monthly_saving=Decimal("60.74") + n,
            saving_basis="price_table",
        )
        action = get("InstanceAction").objects.create(
            organization=organization,
            account=account,
            instance=instance,
            aws_instance_id=instance.instance_id,
            region="us-east-1",
            action="stop",
            actor_label="alice",
            recommendation=rec,
            result="succeeded",
            monthly_saving=rec.monthly_saving,
            finished_at=now,
        )
        get("AutoStopNotice").objects.create(
            account=account,
            recommendation=rec,
            instance=instance,
            dry_run=True,
            stop_after=now,
            action=action,
        )
    get("Volume").objects.create(
        account=account, region="us-east-1", volume_id="vol-1", volume_type="gp2", size_gib=8,
        state="available",
    )  # fmt: skip
    get("ElasticIP").objects.create(
        account=account, region="us-east-1", allocation_id="eipalloc-1", public_ip="203.0.113.1"
    )
    get("DetectionSettings").objects.create(organization=organization)
    get("AutoStopPolicy").objects.create(account=account, enabled=True)


def _figures(get) -> dict:
    return {
        "rows": {name: get(name).objects.count() for name in MOVED},
        "saving": get("recommendation").objects.aggregate(s=Sum("monthly_saving"))["s"],
        "realised": get("instanceaction").objects.aggregate(s=Sum("monthly_saving"))["s"],
        "traffic": get("utilizationday").objects.aggregate(s=Sum("network_bytes"))["s"],
        "linked": get("instanceaction")
        .objects.filter(recommendation__instance__account__account_id="123456789012")
        .aggregate(n=Count("pk"))["n"],
    }


@pytest.mark.django_db(transaction=True)
def test_moving_the_models_keeps_every_row_and_every_permission(django_user_model):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE_THE_MOVE).apps
    _fill(old)
    before = _figures(lambda model: old.get_model("costs", model))
    # A staff member allowed to see instances: the permission sits on costs' content type.
    ContentType.objects.clear_cache()
    olivia = django_user_model.objects.create_user("olivia", is_staff=True)
    olivia.user_permissions.add(
        Permission.objects.get(content_type__app_label="costs", codename="view_instance")
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    after = _figures(lambda model: installed_apps.get_model(MOVED[model], model))
    assert after == before
    assert before["rows"]["utilizationday"] == 12 and before["saving"] == Decimal("185.22")
    labels = ContentType.objects.filter(model__in=MOVED).values_list("app_label", "model")
    assert sorted(labels) == sorted((app, model) for model, app in MOVED.items())
    olivia = django_user_model.objects.get(pk=olivia.pk)
    assert olivia.has_perm("fleet.view_instance")
    assert settings.INSTALLED_APPS.index("fleet") > settings.INSTALLED_APPS.index("costs")
