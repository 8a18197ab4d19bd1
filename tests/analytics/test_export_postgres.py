"""PostgreSQL's fast export path writes what the Python path writes (the SQLite path), page after page."""

import pytest
from django.db import connection

from analytics import pg_exports
from analytics.exports import python_stream, sf_value, stream
from tasks.privacy import public_worker_id
from tests.analytics.demo_data import build_demo_like
from tests.factories import ContainsJudgmentFactory, ImageFactory, WorkerFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: runs in the PostgreSQL pass"),
]

WORKER_IDS = ["A1B2C3", "simulated-007", "Wörker,1", "x" * 128, ""]


@pytest.mark.parametrize("raw", [False, True])
def test_it_names_every_worker_as_python_does(raw):
    workers = [WorkerFactory(external_id=external_id) for external_id in WORKER_IDS]
    ids, names = pg_exports.worker_names(raw)
    assert ids == [worker.pk for worker in workers]
    assert names == [public_worker_id(w, raw=raw) for w in WORKER_IDS]


def test_it_rounds_selection_frequencies_in_sql_exactly_as_in_python():
    pairs = [(k, n) for n in range(0, 161) for k in range(0, n + 1)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pg_exports.sf_sql('k', 'n')} FROM unnest(%s::int[], %s::int[]) "  # noqa: S608
            "WITH ORDINALITY AS t(k, n, i) "
            "ORDER BY i", [[k for k, _ in pairs], [n for _, n in pairs]],
        )
        assert [row[0] for row in cursor.fetchall()] == [repr(sf_value(k, n)) for k, n in pairs]


@pytest.mark.parametrize("what", ["sf", "contains", "classify_responses"])
def test_it_exports_the_same_bytes_as_the_python_path_across_pages(monkeypatch, what):
    dataset = build_demo_like()
    ContainsJudgmentFactory(image=ImageFactory(external_id="elsewhere.jpg"))  # another dataset: left out
    monkeypatch.setattr(pg_exports, "PAGE_ROWS", 7)
    monkeypatch.setattr(pg_exports, "PAGE_IMAGES", 2)
    for fmt in ("jsonl", "csv"):
        for raw in (False, True):
            fast = "".join(stream(dataset, what, fmt, raw_worker_ids=raw))
            assert fast == "".join(python_stream(dataset, what, fmt, raw_worker_ids=raw)), (fmt, raw)
            assert fast.count("\n") > 20 and "elsewhere" not in fast


@pytest.mark.django_db(transaction=True)
def test_it_reads_one_snapshot_outside_any_transaction_and_leaves_autocommit_on():
    dataset = build_demo_like()
    blocks = stream(dataset, "contains", "jsonl")
    first = next(blocks)
    assert connection.in_atomic_block  # the export's own REPEATABLE READ, READ ONLY transaction
    assert first + "".join(blocks) == "".join(python_stream(dataset, "contains", "jsonl"))
    assert not connection.in_atomic_block and connection.get_autocommit()
