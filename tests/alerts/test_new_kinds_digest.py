"""The savings digest carries the waste kinds beyond idle and oversized EC2 (issue 20): each new
kind's finding is a line with its saving, in the digest and in the e-mail delivered from it."""

from decimal import Decimal

import pytest
from django.core import mail

from alerts import rules
from alerts.delivery import deliver_pending, raise_alert
from findings.models import Recommendation

Kind = Recommendation.Kind
pytestmark = pytest.mark.django_db

NEW = {
    Kind.OLD_GENERATION: ("i-0old", "12.41"),
    Kind.GRAVITON: ("i-0arm", "9.13"),
    Kind.OLD_SNAPSHOT: ("snap-0old", "4.00"),
    Kind.IDLE_DATABASE: ("legacy-reports-db", "124.83"),
    Kind.IDLE_NAT_GATEWAY: ("nat-0idle", "35.04"),
    Kind.IDLE_LOAD_BALANCER: ("app/retired-alb/50dc6c495c0c9188", "16.43"),
}


def test_every_new_kind_reaches_the_digest_and_its_email(alice, acme, acme_account):
    for kind, (resource_id, saving) in NEW.items():
        Recommendation.objects.create(
            account=acme_account,
            kind=kind,
            resource_id=resource_id,
            region="eu-west-1",
            summary=f"{resource_id}: nothing uses it",
            action="Remove it.",
            monthly_saving=Decimal(saving),
            saving_basis=Recommendation.SavingBasis.PRICE_LIST,
        )

    (digest,) = rules.savings_digest(acme)

    assert digest.title == "6 new savings worth $201.84/month"
    # Biggest first, each with its saving.
    assert digest.lines[0] == "$124.83/month: legacy-reports-db: nothing uses it"
    for resource_id, saving in NEW.values():
        assert f"${saving}/month: {resource_id}: nothing uses it" in digest.lines
    raise_alert(digest)
    deliver_pending()
    (message,) = mail.outbox
    assert "app/retired-alb/50dc6c495c0c9188: nothing uses it" in message.body
    assert rules.savings_digest(acme) == []
