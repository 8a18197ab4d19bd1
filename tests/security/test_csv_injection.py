"""CSV formula injection: every CSV writer neutralises text a spreadsheet would run, numbers stay numbers."""

import csv
import io

import pytest
from django.db import connection
from django.urls import reverse

from analytics.exports import python_stream, stream
from annotation.models import LabelClass
from relabel.csv_safety import safe_cell
from tests.analytics.demo_data import build_demo_like
from tests.factories import (
    AssignmentFactory,
    ContainsJudgmentFactory,
    DatasetFactory,
    ImageFactory,
    LabelClassFactory,
    UserFactory,
    WorkerFactory,
)

PAYLOADS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_it_prefixes_a_quote_to_text_that_starts_a_formula(payload):
    assert safe_cell(payload) == "'" + payload


@pytest.mark.parametrize("value", [-1, -2.5, 0, 3, None, True, "a=b", "w_0123", "", "'=already"])
def test_it_leaves_numbers_and_harmless_text_alone(value):
    assert safe_cell(value) == value


@pytest.fixture
def hostile_dataset():
    dataset = DatasetFactory(name="hostile")
    label = LabelClassFactory(index=7)
    assignment = AssignmentFactory(worker=WorkerFactory(external_id="=cmd|'/C calc'!A0"), hit__batch__dataset=dataset,
                                   confirmation="confirmed")
    for name in ("-2+3.jpg", "@x.jpg", "plain.jpg"):
        image = ImageFactory(dataset=dataset, external_id=name, original_label=label)
        ContainsJudgmentFactory(assignment=assignment, image=image, label=label, selected=True)
    return dataset


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.django_db
@pytest.mark.parametrize("writer", [stream, python_stream], ids=["database's own path", "python path"])
def test_it_neutralises_worker_ids_and_file_names_in_the_exports(hostile_dataset, writer):
    rows = _rows("".join(writer(hostile_dataset, "contains", "csv", raw_worker_ids=True)))
    assert rows[0] == ["image", "label", "worker", "selected"]
    assert [row[0] for row in rows[1:]] == ["'-2+3.jpg", "'@x.jpg", "plain.jpg"]
    assert {row[2] for row in rows[1:]} == {"'=cmd|'/C calc'!A0"}
    assert {row[1] for row in rows[1:]} == {"7"}


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: runs in the PostgreSQL pass")
def test_postgres_writes_the_same_neutralised_bytes_as_python(hostile_dataset):
    for raw in (False, True):
        assert "".join(stream(hostile_dataset, "contains", "csv", raw)) == "".join(
            python_stream(hostile_dataset, "contains", "csv", raw))


@pytest.mark.django_db
def test_it_neutralises_class_names_in_the_analysis_tables(client):
    dataset = build_demo_like()
    for label in LabelClass.objects.all():
        label.name = f"=HYPERLINK(\"http://evil/{label.index}\")"
        label.save(update_fields=["name"])
    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("analytics:analysis-csv", args=[dataset.name, "cooccurrence"]))
    header, *rows = _rows(response.content.decode())
    assert rows and header[-2:] == ["name_a", "name_b"]
    for row in rows:
        assert all(name.startswith("'=HYPERLINK") for name in row[-2:])
        assert all(not cell.startswith("'") for cell in row[:-2])
