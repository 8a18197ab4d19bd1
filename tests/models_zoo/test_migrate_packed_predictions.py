"""Prediction labels and probabilities move from JSON to packed numbers with every row, and back.

Runs in both suite passes: the forward step is SQL on PostgreSQL and the ORM on SQLite.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from models_zoo.models import Prediction
from tests.factories import ImageFactory

BEFORE = ("models_zoo", "0003_prediction_origin")
ROWS = [([3, 1, 999], [0.6, 0.30000000000000004, 5e-324]), ([7], []), ([2**31 - 1, 0], [1, 0.0])]


def migrate(target: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(target or executor.loader.graph.leaf_nodes())
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_every_row_keeps_its_numbers_both_ways():
    try:
        executor = migrate([BEFORE])
        old = executor.loader.project_state([BEFORE]).apps.get_model("models_zoo", "Prediction")
        ids = [old.objects.create(image_id=ImageFactory().pk, model_name=f"m{n}", labels=labels, probs=probs).pk
               for n, (labels, probs) in enumerate(ROWS)]
        migrate()
        assert [(p.labels, p.probs) for p in Prediction.objects.order_by("pk")] == ROWS
        executor = migrate([BEFORE])
        old = executor.loader.project_state([BEFORE]).apps.get_model("models_zoo", "Prediction")
        assert [(p.labels, p.probs) for p in old.objects.order_by("pk")] == ROWS
    finally:
        migrate()
    assert list(Prediction.objects.order_by("pk").values_list("pk", flat=True)) == ids
