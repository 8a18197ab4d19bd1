"""MTurk's pricing, as pure functions (the simulator charges with the same rules).

Only MTurk (sandbox, production, and the offline simulator that mirrors it) takes a fee; local annotators,
link studies (paid outside Relabel), imported and simulated work cost no platform fee here.
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
BASE_FEE = Decimal("0.20")
LARGE_HIT_FEE = Decimal("0.40")
LARGE_HIT_ASSIGNMENTS = 10
SAFE_ROUND_SIZE = LARGE_HIT_ASSIGNMENTS - 1
FEE_CHARGING_PROVIDERS = frozenset({"sandbox", "production", "simulator"})


def charges_fee(provider: str) -> bool:
    """Whether the platform a batch is published on takes MTurk's commission."""
    return provider in FEE_CHARGING_PROVIDERS


def fee_rate(max_assignments: int) -> Decimal:
    """20% commission, 40% for HITs with 10 or more assignments."""
    return LARGE_HIT_FEE if max_assignments >= LARGE_HIT_ASSIGNMENTS else BASE_FEE


def fee(amount: Decimal, max_assignments: int = 1) -> Decimal:
    """The commission on one payment (reward or bonus): at least one cent."""
    return max((Decimal(amount) * fee_rate(max_assignments)).quantize(CENT, ROUND_HALF_UP), CENT)
