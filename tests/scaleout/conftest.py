import re

import pytest

from tests.scaleout.services import FreshDatabase, app_env, http, manage

SANDBOX = "https://workersandbox.mturk.com"
CONFIG = re.compile(r'<script id="hit-config" type="application/json">(.*?)</script>', re.S)


@pytest.fixture
def fresh_database():
    database = FreshDatabase()
    database.create()
    yield database
    database.drop()


@pytest.fixture
def migrated_env(tmp_path, fresh_database):
    env = app_env(tmp_path, fresh_database.url)
    manage(env, "migrate", "-v0")
    return env


def accept_hit(base: str, hit_id: int, worker: str) -> str:
    """Open the HIT page as an MTurk worker (which accepts the assignment); returns the page's token."""
    import json
    from urllib.parse import urlencode

    query = urlencode({"assignmentId": f"{worker}-{hit_id}", "hitId": f"FAULT{hit_id}", "workerId": worker,
                       "turkSubmitTo": SANDBOX})
    status, html = http("GET", f"{base}/hit/{hit_id}/?{query}")
    assert status == 200, html
    return json.loads(CONFIG.search(html).group(1))["token"]
