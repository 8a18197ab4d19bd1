"""Simulated Prolific participants driving Relabel's real landing and HIT pages over HTTP.

Each participant takes a place on the simulator (`/_sim/studies/<id>/participants`), opens the URL
Prolific would give them, answers every HIT the site hands out (a CONTAINS grid: the tiles on the page,
chosen by `select`), follows the page's `next` link, and ends on the simulator's completion URL, just
as a browser would. Used by `manage.py prolific_participants` and the end-to-end test.
"""

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

CONFIG = re.compile(r'<script[^>]*id="hit-config"[^>]*>(.*?)</script>', re.S)
TILE = re.compile(r'data-image="(\d+)"')
MAX_STEPS = 200

Select = Callable[[list[int]], list[int]]


class ParticipantError(Exception):
    """The site or the simulator answered something a participant's browser could not go on from."""


@dataclass
class Walk:
    participant_id: str
    hits: list[int] = field(default_factory=list)
    completed: bool = False


def select_all(tiles: list[int]) -> list[int]:
    return tiles


def select_randomly(seed: int) -> Select:
    chooser = random.Random(seed)
    return lambda tiles: [tile for tile in tiles if chooser.random() < 0.5]


def take_part(site: str, sim_url: str, study_id: str, participant_id: str, select: Select = select_all,
              http: requests.Session | None = None) -> Walk:
    """One participant's whole session; returns the HITs they answered and whether Prolific got the code."""
    http = http or requests.Session()
    joined = http.post(f"{sim_url}/_sim/studies/{study_id}/participants", json={"participant_id": participant_id},
                       timeout=10)
    if joined.status_code != 200:
        raise ParticipantError(f"the simulator refused {participant_id}: {joined.text[:200]}")
    walk, url = Walk(participant_id), joined.json()["url"]
    for _ in range(MAX_STEPS):
        response = http.get(url, allow_redirects=False, timeout=10)
        location = response.headers.get("Location", "")
        if response.status_code != 302:
            raise ParticipantError(f"{url} answered {response.status_code}: {response.text[:200]}")
        if not location.startswith("/hit/"):
            walk.completed = http.get(location, timeout=10).status_code == 200
            return walk
        hit_page = urljoin(site, location)
        next_path = _answer(http, hit_page, select)
        walk.hits.append(int(location.split("/")[2]))
        url = urljoin(site, next_path)
    raise ParticipantError(f"{participant_id} was still being given HITs after {MAX_STEPS} steps")


def _answer(http: requests.Session, hit_page: str, select: Select) -> str:
    page = http.get(hit_page, timeout=10)
    match = CONFIG.search(page.text)
    if page.status_code != 200 or match is None:
        raise ParticipantError(f"{hit_page} answered {page.status_code} without a HIT")
    config = json.loads(match.group(1))
    tiles = [int(tile) for tile in TILE.findall(page.text)]
    submitted = http.post(urljoin(hit_page, config["submitUrl"]), timeout=10,
                          json={"token": config["token"], "selected": select(tiles)})
    if submitted.status_code != 200 or not submitted.json().get("next"):
        raise ParticipantError(f"submitting {hit_page} answered {submitted.status_code}: {submitted.text[:200]}")
    return submitted.json()["next"]
