"""The 1000-way study's models move from annotation to label1000 without copying a row.

From the schema before the move, with rows in every moved table, migrating forward must find every
row through the label1000 models and create no table. Runs in both suite passes (SQLite, PostgreSQL).
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from label1000.models import ErrorTag, ErrorType, Label1000Response
from tests.factories import AssignmentFactory, ImageFactory, UserFactory

MOVED = ("Label1000Response", "ErrorTag")


def annotation_before_the_move(executor: MigrationExecutor) -> tuple[str, str]:
    """The annotation migration just before the one that hands the models over to label1000."""
    graph = executor.loader.graph
    first = graph.root_nodes("label1000")[0]
    handover = next(parent.key for parent in graph.node_map[first].parents if parent.key[0] == "annotation")
    return next(parent.key for parent in graph.node_map[handover].parents if parent.key[0] == "annotation")


def store_old_rows(executor: MigrationExecutor, before: tuple[str, str]) -> dict[str, list[int]]:
    old = executor.loader.project_state([before]).apps
    old_response, old_tag = (old.get_model("annotation", name) for name in MOVED)
    image = ImageFactory()
    confirmed, unconfirmed = AssignmentFactory(confirmation="confirmed"), AssignmentFactory(confirmation="unconfirmed")
    kept = old_response.objects.create(assignment_id=confirmed.pk, image_id=image.pk, labels=[3, 1], seconds_spent=4.5)
    practice = old_response.objects.create(assignment_id=unconfirmed.pk, image_id=image.pk, labels=[7], practice=True)
    human = old_tag.objects.create(image_id=image.pk, response_id=kept.pk, error_type=ErrorType.FINE_GRAINED)
    model = old_tag.objects.create(image_id=image.pk, model_name="resnet", error_type=ErrorType.OTHER,
                                   reviewer_id=UserFactory().pk)
    return {"responses": [kept.pk, practice.pk], "tags": [human.pk, model.pk]}


@pytest.mark.django_db(transaction=True)
def test_it_finds_every_row_after_the_move():
    executor = MigrationExecutor(connection)
    before = annotation_before_the_move(executor)
    tables = set(connection.introspection.table_names())
    try:
        executor.migrate([before])
        executor.loader.build_graph()
        stored = store_old_rows(executor, before)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    responses = Label1000Response.objects.order_by("pk")
    assert [r.pk for r in responses] == stored["responses"]
    assert [(r.labels, r.practice, r.seconds_spent) for r in responses] == [([3, 1], False, 4.5), ([7], True, 0)]
    tags = ErrorTag.objects.order_by("pk")
    assert [t.pk for t in tags] == stored["tags"]
    assert [(t.response_id, t.model_name, t.error_type) for t in tags] == [
        (stored["responses"][0], "", ErrorType.FINE_GRAINED), (None, "resnet", ErrorType.OTHER)
    ]
    assert set(connection.introspection.table_names()) == tables


@pytest.mark.django_db
def test_it_keeps_the_annotation_table_names():
    assert Label1000Response._meta.db_table == "annotation_label1000response"
    assert ErrorTag._meta.db_table == "annotation_errortag"
