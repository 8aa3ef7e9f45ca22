"""The Commitment admin's own pages: coverage and utilization over the last 30 days, and what to
buy. Organisation-wide (no object): every figure comes from the caller's organisations only,
and reading them needs the Commitment view permission."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from accounts.models import CloudAccount
from commitments import report
from commitments.models import CommitmentDay
from config.admin_display import EMPTY, money, percent

CHART_DAYS = 30
PURCHASE_DAYS = 30


class CommitmentPages:
    """get_urls() and the views of /admin/commitments/commitment/coverage/ and what-to-buy/."""

    def get_urls(self):
        pages = [
            path(
                "coverage/",
                self.admin_site.admin_view(self.coverage_view),
                name="commitments_commitment_coverage",
            ),
            path(
                "what-to-buy/",
                self.admin_site.admin_view(self.what_to_buy_view),
                name="commitments_commitment_what_to_buy",
            ),
        ]
        return pages + super().get_urls()

    def _page(self, request, template, title, **context):
        return TemplateResponse(
            request,
            f"admin/commitments/commitment/{template}",
            {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **context},
        )

    def _organizations(self, request):
        return self.user_organizations(request).values("pk")

    def coverage_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        end = timezone.localdate()
        start = end - timedelta(days=CHART_DAYS - 1)
        days = CommitmentDay.objects.for_organizations(self._organizations(request))
        figures = report.daily(days, start, end)
        context = coverage_context(figures, start, end)
        return self._page(request, "coverage.html", "Commitment coverage", **context)

    def what_to_buy_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        accounts = CloudAccount.objects.for_organizations(self._organizations(request)).order_by(
            "account_id"
        )
        chosen = request.GET.get("account") or ""
        context = {"accounts": accounts, "chosen": chosen, "days": PURCHASE_DAYS}
        if chosen:
            accounts = accounts.filter(account_id=chosen)
            if not accounts.exists():  # another organisation's is answered like a made-up one
                context["problem"] = f"No account {chosen} of yours."
                return self._page(request, "what_to_buy.html", "What to buy", **context)
        # AWS's own advice is shown even when Spendlens has too little data to judge.
        context["aws"] = aws_context(report.aws_recommendations(accounts))
        try:
            found = report.what_to_buy(accounts, PURCHASE_DAYS)
        except ValueError as error:  # NotEnoughData, or the engine's judgement of the series
            context["problem"] = str(error)
        else:
            context |= purchase_context(found)
        return self._page(request, "what_to_buy.html", "What to buy", **context)


# --- What the templates show ---------------------------------------------------------------------


def coverage_context(figures, start, end) -> dict:
    labels = [str(start + timedelta(days=n)) for n in range((end - start).days + 1)]
    by_kind = {}
    for f in figures:
        by_kind.setdefault(f.kind, {})[str(f.day)] = f
    names = dict(CommitmentDay.Kind.choices)
    datasets = []
    for kind, days in sorted(by_kind.items()):
        for measure, attr in (("coverage", "coverage"), ("utilization", "utilization")):
            datasets.append(
                {
                    "label": f"{names.get(kind, kind)} {measure}",
                    # null where the day has no figure: a gap in the line, never a 0.
                    "data": [
                        None
                        if days.get(d) is None or getattr(days[d], attr) is None
                        else str(getattr(days[d], attr))
                        for d in labels
                    ],
                }
            )
    return {
        "chart": {"labels": labels, "datasets": datasets},
        "start": start,
        "end": end,
        "rows": [
            {
                "day": f.day,
                "kind": names.get(f.kind, f.kind),
                "coverage": percent(f.coverage),
                "utilization": percent(f.utilization),
                "covered": money(f.covered_spend),
                "on_demand": money(f.on_demand_spend),
                "unused": money(f.unused_commitment),
            }
            for f in sorted(figures, key=lambda f: (f.day, f.kind), reverse=True)
        ],
    }


HOW_ORDER = (
    ("hourly_commitment", "Hourly commitment"),
    ("upfront", "Upfront"),
    ("recurring_hourly", "Recurring"),
    ("period_net_savings", "Net savings over the period"),
    ("monthly_net_savings", "Net savings a month"),
    ("break_even_month", "Break-even"),
    ("utilization", "Utilization"),
    ("coverage", "Coverage"),
)


def purchase_context(found: report.Purchase) -> dict:
    recommendation = found.recommendation
    plans = []
    for row, result in zip(report.plan_rows(recommendation), recommendation.plans, strict=True):
        plans.append(
            {
                **row,
                "commitment_shown": f"${row['hourly_commitment']:,.3f}/h"
                if result.recommended
                else EMPTY,
                "upfront_shown": money(result.upfront),
                "monthly_shown": money(result.monthly_net_savings),
                "utilization_shown": percent(result.utilization * 100)
                if result.recommended
                else EMPTY,
                "break_even_shown": f"month {result.break_even_month}"
                if result.break_even_month
                else EMPTY,
                "risk_shown": [
                    (f"-{case.usage_drop:.0%}", money(case.monthly_net_savings), case.how)
                    for case in result.risk
                ],
                "how_shown": [
                    (label, result.how[key]) for key, label in HOW_ORDER if key in result.how
                ],
            }
        )
    return {
        "found": found,
        "best": recommendation.best,
        "reason": recommendation.reason,
        "eligible": money(recommendation.eligible_spend),
        "plans": plans,
    }


def aws_context(recommendations) -> list[dict]:
    """AWS's recommendations in the columns of Spendlens's plans table."""
    shown = []
    for row, rec in zip(report.aws_rows(recommendations), recommendations, strict=True):
        shown.append(
            {
                **row,
                "commitment_shown": f"${rec.hourly_commitment:,.3f}/h"
                if rec.currency == "USD"
                else f"{rec.hourly_commitment:,.3f} {rec.currency}/h",
                "upfront_shown": money(rec.upfront_cost, rec.currency),
                "monthly_shown": money(rec.monthly_savings, rec.currency),
                "savings_shown": percent(rec.savings_percent),
                "utilization_shown": percent(rec.utilization_percent),
                "foreign": rec.foreign_currency,
            }
        )
    return shown
