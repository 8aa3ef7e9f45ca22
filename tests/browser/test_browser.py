"""The product in a real browser: log in, read the chart, stop instances (dashboard, admin)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Organization
from actions.models import InstanceAction
from costs.models import CostRollup
from dashboard import overview
from demo import seed as demo
from fleet.models import Instance
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
            // The costs only: the spike markers sit on their own stack.
            const sets = chart.data.datasets.filter((s) => s.stack === "cost");
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
    stop = InstanceAction.objects.get(instance=box)
    assert stop.result == InstanceAction.Result.SUCCEEDED

    # The fix moved its saving from potential to realised.
    assert stop.monthly_saving > 0
    page.goto("/")
    realised = page.locator("[data-card='realised']")
    expect(realised).to_contain_text(f"${stop.monthly_saving:,.2f}/month")
    expect(realised).to_contain_text("1 fix applied")
    screenshot(page, "dashboard-realised")

    # On a phone the page reflows: nothing wider than the screen but the tables' own scroll.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    drawn_chart(page, "30")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "dashboard-phone")


def test_same_days_card_compares_complete_days_like_for_like(page):
    log_in(page, "olga")
    today = timezone.localdate()
    cards = overview.stat_cards(Organization.objects.filter(slug="demo"), today)

    card = page.locator("[data-card='same-days']")

    if cards.same_days is None:  # the 1st of the month: nothing complete to compare yet
        expect(card).to_contain_text("no complete day this month yet")
        return
    same = cards.same_days
    assert same.end == today - timedelta(days=1) or today.day > 28  # complete days only
    assert same.days == (same.previous_end - same.previous_start).days + 1
    expect(card).to_contain_text(f"{same.label}: ${same.amount:,.2f}")
    expect(card).to_contain_text(f"vs {same.previous_label}: ${same.previous_amount:,.2f}")
    sign = "+" if same.change_percent > 0 else ""
    expect(card.locator(".sl-figure")).to_have_text(f"{sign}{same.change_percent:.1f}%")


def test_on_a_phone_the_stop_button_and_the_saving_are_on_screen(page):
    log_in(page, "olga")
    page.set_viewport_size({"width": 390, "height": 844})
    box = idle_dev_box()

    page.goto("/instances/")

    row = page.get_by_role("row").filter(has_text=box.instance_id)
    stop = row.get_by_role("link", name=f"Stop {box.instance_id}")
    saving = row.locator("[data-label='Saving']")
    expect(saving).to_contain_text("/month if stopped")
    for element in (stop, saving):
        element.scroll_into_view_if_needed()
        shown = element.bounding_box()
        assert shown["x"] >= 0 and shown["x"] + shown["width"] <= 390, shown
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # No hidden horizontal scroll inside the card either.
    assert page.evaluate(
        "(() => { const c = document.querySelector('main .card'); "
        "return c.scrollWidth <= c.clientWidth; })()"
    )
    screenshot(page, "instances-phone")


def test_admin_index_chart_and_stop_action_through_its_confirmation(page):
    log_in(page, "ada", next_url="/admin/")

    chart = drawn_chart(page, "30")
    assert chart["labels"] == 30 and chart["services"]
    expect(page.get_by_text("Potential savings")).to_be_visible()
    screenshot(page, "admin-index")

    box = idle_dev_box()
    page.goto("/admin/fleet/instance/")
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
    # The Instances action named no recommendation; the stop still applied the idle one.
    assert action.recommendation is not None and action.monthly_saving > 0


def test_admin_instances_fit_a_1366_pixel_screen(page):
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, "ada", next_url="/admin/fleet/instance/")

    results = page.locator("#changelist .results")
    expect(results).to_be_visible()
    screenshot(page, "admin-instances-1366")
    fits = results.evaluate("(el) => el.scrollWidth <= el.clientWidth")
    assert fits, results.evaluate("(el) => [el.scrollWidth, el.clientWidth]")


def spike_marker(page, day: str) -> dict:
    """The spike markers Chart.js drew, and where DAY's sits on the canvas."""
    return page.evaluate(
        """(day) => {
            const chart = Chart.getChart(document.querySelector("[data-cost-chart] canvas"));
            const labels = chart.data.labels;
            const sets = chart.data.datasets;
            const at = sets.findIndex((s) => s.label === "Cost spike");
            if (at < 0) {
                return { marked: [] };
            }
            const index = labels.indexOf(day);
            const point = chart.getDatasetMeta(at).data[index];
            const stacked = sets
                .filter((s) => s.stack === "cost")
                .reduce((sum, s) => sum + s.data[index], 0);
            const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
            return {
                marked: labels.filter((_, i) => sets[at].data[i] !== null),
                value: sets[at].data[index],
                stacked: stacked,
                stackedText: usd.format(stacked),
                x: point.x,
                y: point.y,
            };
        }""",
        day,
    )


def test_the_demo_spike_is_marked_on_both_charts_with_its_figures(page):
    spike = demo.COST_SPIKE
    today = timezone.localdate()
    day = spike.day(today).isoformat()
    costs = demo.daily_costs(spike.account_id, today)
    cost = sum(a for (d, s, _), a in costs.items() if (d.isoformat(), s) == (day, spike.service))
    figures = f"{spike.service} in {spike.account_id}: ${cost.quantize(Decimal('0.01')):,}"
    log_in(page, "olga")
    drawn_chart(page, "30")

    marker = spike_marker(page, day)

    # One marker, on the runaway job's day, drawn on top of that day's bar.
    assert marker["marked"] == [day]
    assert marker["value"] == pytest.approx(marker["stacked"], abs=0.01)
    canvas = page.locator("[data-cost-chart] canvas").bounding_box()
    page.mouse.move(canvas["x"] + marker["x"], canvas["y"] + marker["y"])
    chart = 'Chart.getChart(document.querySelector("[data-cost-chart] canvas"))'
    page.wait_for_function(
        f"{chart}.tooltip.getActiveElements().some((e) => "
        f"{chart}.data.datasets[e.datasetIndex].label === 'Cost spike')"
    )
    lines = page.evaluate(f"{chart}.tooltip.body.flatMap((b) => b.lines)")
    (spike_line,) = [line for line in lines if line.startswith("Cost spike: ")]
    assert spike_line.startswith(f"Cost spike: {figures} against a median of $")
    assert "(+$" in spike_line
    footer = page.evaluate(f"{chart}.tooltip.footer")
    assert footer == [f"Total: {marker['stackedText']}"]  # the costs, not the marker too
    screenshot(page, "dashboard-spike-tooltip")

    # The table under the chart has the same figures, for screen readers.
    page.get_by_text("Daily totals as a table").click()
    row = page.get_by_role("row").filter(has_text=day)
    expect(row).to_contain_text(spike_line.removeprefix("Cost spike: "))

    # The admin index draws the same chart, marker included.
    log_in(page, "ada", next_url="/admin/")
    drawn_chart(page, "30")
    assert spike_marker(page, day)["marked"] == [day]
