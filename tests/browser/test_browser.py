"""The product in a real browser: log in, read the chart, stop instances (dashboard, admin)."""

import pytest
from playwright.sync_api import expect

from accounts import demo
from costs.models import CostRollup, Instance, InstanceAction
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.usefixtures("demo_site")


def idle_dev_box() -> Instance:
    return Instance.objects.get(name=demo.demo_instance("idle-dev-box").name)


def drawn_chart(page, days: str) -> dict:
    """What Chart.js actually drew, once the page says it has drawn DAYS days."""
    page.wait_for_selector(f"[data-cost-chart][data-rendered-days='{days}']")
    return page.evaluate(
        """() => {
            const chart = Chart.getChart(document.querySelector("[data-cost-chart] canvas"));
            const sets = chart.data.datasets;
            return {
                labels: chart.data.labels.length,
                services: sets.map((s) => s.label),
                total: sets.reduce((sum, s) => sum + s.data.reduce((a, b) => a + b, 0), 0),
                width: chart.width,
                height: chart.height,
            };
        }"""
    )


def test_dashboard_chart_and_stopping_an_idle_instance(page):
    log_in(page, "olga")

    chart = drawn_chart(page, "30")
    stored = sum(
        float(r.amount)
        for r in CostRollup.objects.filter(dimension=CostRollup.Dimension.SERVICE)
        if r.usage_date.isoformat()
        >= page.evaluate(
            "JSON.parse(document.getElementById('cost-chart-data').textContent)"
            ".views['30'].labels[0]"
        )
    )
    assert chart["labels"] == 30
    assert "Amazon Elastic Compute Cloud - Compute" in chart["services"]
    assert chart["total"] == pytest.approx(stored, abs=0.5)
    assert chart["width"] > 300 and chart["height"] > 200
    screenshot(page, "dashboard")

    page.get_by_role("button", name="7 days").click()
    assert drawn_chart(page, "7")["labels"] == 7

    box = idle_dev_box()
    assert box.state == "running"
    page.get_by_role("link", name=f"Stop {box.instance_id}").first.click()
    page.get_by_role("button", name="Stop the instance").click()

    # expect() waits for the page the POST redirects to; plain reads would race it.
    row = page.get_by_role("row").filter(has_text=box.instance_id)
    expect(row.get_by_role("cell", name="stopped", exact=True)).to_have_count(1)
    expect(page.get_by_role("status")).to_contain_text("stopped")
    box.refresh_from_db()
    assert box.state == "stopped"
    assert InstanceAction.objects.get(instance=box).result == InstanceAction.Result.SUCCEEDED

    # On a phone the page reflows: nothing wider than the screen but the tables' own scroll.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    drawn_chart(page, "30")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "dashboard-phone")


def test_admin_index_chart_and_stop_action_through_its_confirmation(page):
    log_in(page, "ada", next_url="/admin/")

    chart = drawn_chart(page, "30")
    assert chart["labels"] == 30 and chart["services"]
    expect(page.get_by_text("Potential savings")).to_be_visible()
    screenshot(page, "admin-index")

    box = idle_dev_box()
    page.goto("/admin/costs/instance/")
    page.get_by_role("row").filter(has_text=box.instance_id).get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option("stop_selected")
    page.get_by_role("button", name="Go").click()

    # Nothing has happened yet: the confirmation page lists the instance and its saving.
    expect(page.locator("#instances")).to_contain_text(box.instance_id)
    box.refresh_from_db()
    assert box.state == "running"
    screenshot(page, "admin-stop-confirmation")

    page.get_by_role("button", name="Yes, stop 1 instance").click()

    expect(page.locator(".messagelist li.success")).to_have_count(1)
    box.refresh_from_db()
    assert box.state == "stopped"
    action = InstanceAction.objects.get(instance=box)
    assert (action.action, action.result) == ("stop", InstanceAction.Result.SUCCEEDED)
