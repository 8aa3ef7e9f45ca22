"""The demo organisation's budget."""

DEMO_BUDGET_USD = 4000


def ensure_demo_budget(organization) -> None:
    """A monthly budget the demo's Cost Explorer data crosses, so budget alerts show up."""
    from alerts.models import Budget

    budget, _ = Budget.objects.get_or_create(
        organization=organization,
        name="Demo monthly budget",
        defaults={"monthly_amount": DEMO_BUDGET_USD},
    )
    budget.ensure_thresholds()
