import pytest

from scheduler import plans
from scheduler.models import Tier, User

TIERS = [Tier.FREE, Tier.STARTER, Tier.PROFESSIONAL, Tier.ENTERPRISE]


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("seat", [User.Seat.NONE, User.Seat.SALES, User.Seat.SERVICE])
def test_task_sync_needs_a_paid_professional_or_enterprise_seat(
    make_user, make_account, tier, seat
):
    if seat == User.Seat.SERVICE:
        account = make_account(sales_tier=Tier.FREE, service_tier=tier)
    else:
        account = make_account(sales_tier=tier, service_tier=Tier.FREE)
    user = make_user(account=account, seat=seat)
    gate = plans.task_sync(user)
    expected = seat != User.Seat.NONE and tier in {Tier.PROFESSIONAL, Tier.ENTERPRISE}
    assert bool(gate) is expected
    assert (gate.reason == "") is expected


def test_a_sales_seat_does_not_borrow_the_service_tier(make_user, make_account):
    account = make_account(sales_tier=Tier.STARTER, service_tier=Tier.ENTERPRISE)
    assert not plans.task_sync(make_user(account=account, seat=User.Seat.SALES))
    assert plans.task_sync(make_user(account=account, seat=User.Seat.SERVICE))


@pytest.mark.parametrize(
    ("sales", "service", "allowed"),
    [
        (Tier.FREE, Tier.FREE, False),
        (Tier.STARTER, Tier.FREE, True),
        (Tier.FREE, Tier.PROFESSIONAL, True),
        (Tier.ENTERPRISE, Tier.ENTERPRISE, True),
    ],
)
def test_meeting_url_editing_and_custom_domains_need_starter(make_account, sales, service, allowed):
    account = make_account(sales_tier=sales, service_tier=service)
    assert bool(plans.meeting_url_editing(account)) is allowed
    assert bool(plans.custom_domains(account)) is allowed


def test_connecting_a_calendar_needs_personal_email_access(make_user):
    assert not plans.connect_calendar(make_user(personal_email_access=False))
    assert "personal email access" in plans.connect_calendar(make_user()).reason
    assert plans.connect_calendar(make_user(personal_email_access=True))
