"""Every plan-gated question the product asks, answered in one place.

Each function returns a `Gate`: whether the feature is available and, when it is not, the
sentence to show the user next to the disabled control.
"""

from dataclasses import dataclass

from scheduler.models import TIER_ORDER, Account, Tier, User

PAID_SEAT_TIERS = {Tier.PROFESSIONAL, Tier.ENTERPRISE}


@dataclass(frozen=True)
class Gate:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Gate(True)


def _rank(tier: str) -> int:
    return TIER_ORDER.index(Tier(tier))


def best_tier(account: Account) -> Tier:
    return max((Tier(account.sales_tier), Tier(account.service_tier)), key=_rank)


def seat_tier(user: User) -> Tier | None:
    """The tier of the product the user's paid seat belongs to, or None without a seat."""
    if user.seat == User.Seat.SALES:
        return Tier(user.account.sales_tier)
    if user.seat == User.Seat.SERVICE:
        return Tier(user.account.service_tier)
    return None


def task_sync(user: User) -> Gate:
    if seat_tier(user) in PAID_SEAT_TIERS:
        return ALLOWED
    return Gate(False, "Task sync needs a paid Sales or Service Professional or Enterprise seat.")


def meeting_url_editing(account: Account) -> Gate:
    if _rank(best_tier(account)) >= _rank(Tier.STARTER):
        return ALLOWED
    return Gate(False, "Editing the meeting URL needs a Starter plan or above.")


def custom_domains(account: Account) -> Gate:
    if _rank(best_tier(account)) >= _rank(Tier.STARTER):
        return ALLOWED
    return Gate(False, "Custom domains need a Starter plan or above.")


def connect_calendar(user: User) -> Gate:
    if user.personal_email_access:
        return ALLOWED
    return Gate(
        False,
        "An account admin must grant you personal email access before you can connect a calendar.",
    )
