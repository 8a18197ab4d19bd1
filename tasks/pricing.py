"""MTurk's pricing, as pure functions (the simulator charges with the same rules).

Only MTurk (sandbox, production, and the offline simulator that mirrors it) takes a fee; local annotators,
link studies (paid outside Relabel), imported and simulated work cost no platform fee here.
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
BASE_FEE = Decimal("0.20")
LARGE_HIT_FEE = Decimal("0.40")
MASTERS_FEE = Decimal("0.05")  # on top of the commission, for HITs that require the Masters qualification
LARGE_HIT_ASSIGNMENTS = 10
SAFE_ROUND_SIZE = LARGE_HIT_ASSIGNMENTS - 1
FEE_CHARGING_PROVIDERS = frozenset({"sandbox", "production", "simulator"})


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
