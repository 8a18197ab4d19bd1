"""The MTurk simulator's state: its empty document and the file that holds it."""

from pathlib import Path

from tasks.simulators.state import StateFile

STARTING_BALANCE = "10000.00"


def empty_state() -> dict:
    return {
        "balance": STARTING_BALANCE,
        "hit_types": {},
        "hits": {},
        "assignments": {},
        "tokens": {},
        "blocks": {},
        "bonuses": [],
        "clock_offset": 0,
        "faults": [],
    }


class Store(StateFile):
    """The MTurk simulator's state file."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, empty_state)
