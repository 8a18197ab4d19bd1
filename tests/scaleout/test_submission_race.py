"""Two web processes receive the same assignment's submission at once: exactly one is stored."""

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.scaleout.conftest import accept_hit
from tests.scaleout.services import build_scenario, free_port, http, start_gunicorn, stop_process

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_web_processes(migrated_env, tmp_path):
    ports = [free_port(), free_port()]
    processes = [start_gunicorn(migrated_env, port, tmp_path / f"web{port}.log") for port in ports]
    yield [f"http://127.0.0.1:{port}" for port in ports]
    for process in processes:
        stop_process(process)


def stored(database_url: str, hit_id: int) -> tuple[list, list]:
    with psycopg.connect(database_url) as conn:
        assignments = conn.execute(
            "SELECT id, status FROM tasks_assignment WHERE hit_id = %s", (hit_id,)
        ).fetchall()
        judgments = conn.execute(
            "SELECT j.image_id, j.selected FROM annotation_containsjudgment j "
            "JOIN tasks_assignment a ON a.id = j.assignment_id WHERE a.hit_id = %s ORDER BY j.image_id", (hit_id,)
        ).fetchall()
    return assignments, judgments


def test_racing_identical_and_different_submissions_store_exactly_one(migrated_env, two_web_processes,
                                                                      fresh_database):
    hit = build_scenario(migrated_env, hits=1, grid=6)["hits"][0]
    token = accept_hit(two_web_processes[0], hit["id"], "ARACER")
    answers = [{"token": token, "selected": hit["images"][:2]}, {"token": token, "selected": hit["images"][3:]}]
    requests = [(two_web_processes[n % 2], answers[(n // 2) % 2]) for n in range(24)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda r: http("POST", f"{r[0]}/hit/{hit['id']}/submit/", r[1]), requests))

    assert {status for status, _ in results} == {200}
    assert len({str(body) for _, body in results}) == 1, "every racer must get the one stored result"
    assignments, judgments = stored(fresh_database.url, hit["id"])
    assert [status for _, status in assignments] == ["submitted"]
    assert len(judgments) == 6
    chosen = {image for image, selected in judgments if selected}
    assert chosen in ({*hit["images"][:2]}, {*hit["images"][3:]})
    with psycopg.connect(fresh_database.url) as conn:
        moves = conn.execute("SELECT COUNT(*) FROM tasks_assignmenttransition WHERE to_status = 'submitted'").fetchone()
    assert moves == (1,)
