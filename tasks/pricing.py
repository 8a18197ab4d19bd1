"""Platform fees, as functions of a batch's provider (the simulators charge with the same rules).

MTurk (sandbox, production, and the offline simulator that mirrors it) takes its commission; Prolific (and its
simulator) its service fee, a setting (docs/crowd.md says where the rate comes from); local annotators, link
studies (paid outside Relabel), imported and simulated work cost no platform fee here.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")
BASE_FEE = Decimal("0.20")
LARGE_HIT_FEE = Decimal("0.40")
MASTERS_FEE = Decimal("0.05")  # on top of the commission, for HITs that require the Masters qualification
LARGE_HIT_ASSIGNMENTS = 10
SAFE_ROUND_SIZE = LARGE_HIT_ASSIGNMENTS - 1
FEE_CHARGING_PROVIDERS = frozenset({"sandbox", "production", "simulator"})
PROLIFIC_PROVIDERS = frozenset({"prolific", "prolific-sim"})


def charges_fee(provider: str) -> bool:
    """Whether the platform a batch is published on takes MTurk's commission."""
    return provider in FEE_CHARGING_PROVIDERS


def fee_rate(max_assignments: int, masters: bool = False) -> Decimal:
    """20% commission, 40% for HITs with 10 or more assignments; 5% more when the HIT requires Masters."""
    rate = LARGE_HIT_FEE if max_assignments >= LARGE_HIT_ASSIGNMENTS else BASE_FEE
    return rate + MASTERS_FEE if masters else rate


def fee(amount: Decimal, max_assignments: int = 1, masters: bool = False) -> Decimal:
    """The commission on one payment (reward, or a bonus: max_assignments=1): at least one cent."""
    return max((Decimal(amount) * fee_rate(max_assignments, masters)).quantize(CENT, ROUND_HALF_UP), CENT)


def platform_fee_rate(provider: str, max_assignments: int) -> Decimal:
    """The share the batch's platform adds to every reward: MTurk's commission, Prolific's service fee, or none."""
    if charges_fee(provider):
        return fee_rate(max_assignments)
    if provider in PROLIFIC_PROVIDERS:
        return Decimal(settings.PROLIFIC_SERVICE_FEE_RATE)
    return Decimal(0)


def fee_name(provider: str) -> str | None:
    """How cost lines name the platform's fee; None where the platform takes none."""
    if charges_fee(provider):
        return "MTurk's fee"
    if provider in PROLIFIC_PROVIDERS:
        return "Prolific's service fee"
    return None
