"""import_responses skips a line whose field its column cannot hold, with the line number and the reason.

A 200-character worker id, a NUL byte or a deeply nested line used to abort the whole file (DataError,
RecursionError) on PostgreSQL, though bad lines are documented as skipped.
"""

import json

import pytest
from django.core.management import call_command

from annotation.models import ClassifyResponse, ContainsJudgment
from label1000.models import Label1000Response
from tasks.models import Worker
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db(transaction=False)

GOOD = {"image": "a.jpg", "label": 281, "worker": "W1", "selected": True}
BAD_LINES = [
    ({**GOOD, "worker": "W" * 200}, "'worker' is 200 characters long, over the limit of 128"),
    ({**GOOD, "worker": "W\x00"}, "'worker' contains a NUL character"),
    ({**GOOD, "image": "a\x00.jpg"}, "'image' contains a NUL character"),
    ({**GOOD, "image": "x" * 300}, "'image' is 300 characters long, over the limit of 255"),
    ('{"image": "a.jpg", "label": 281, "worker": "W\\ud800", "selected": true}', "unpaired surrogate"),
    ("[" * 5000 + "]" * 5000, "levels deep"),
    ('{"image": "a.jpg", "label": 281, "worker": "W2", "selected": true, "x": ' + "[" * 900 + "]" * 900 + "}",
     "levels deep"),
]


@pytest.fixture
def dataset():
    dataset = DatasetFactory(name="v2")
    cat = LabelClassFactory(index=281, wnid="n02123045")
    ImageFactory(dataset=dataset, external_id="a.jpg", original_label=cat)
    return dataset


def _write(tmp_path, lines) -> str:
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return str(path)


def test_it_skips_each_bad_field_with_its_line_number_and_imports_the_rest(tmp_path, dataset, capsys):
    lines = [GOOD, *(line for line, _ in BAD_LINES), {**GOOD, "worker": "W3"}]
    call_command("import_responses", "--dataset", "v2", "--task", "contains", _write(tmp_path, lines))
    out = capsys.readouterr().err
    for number, (_, reason) in enumerate(BAD_LINES, start=2):
        assert f"line {number}: " in out and reason in out.split(f"line {number}: ")[1].splitlines()[0]
    assert sorted(Worker.objects.values_list("external_id", flat=True)) == ["W1", "W3"]
    assert ContainsJudgment.objects.count() == 2


def test_it_checks_classify_and_label1000_lines_the_same_way(tmp_path, dataset, capsys):
    classify = {"image": "a.jpg", "worker": "W" * 129, "selected": [281], "main": 281}
    call_command("import_responses", "--dataset", "v2", "--task", "classify", _write(tmp_path, [classify]))
    assert "over the limit of 128" in capsys.readouterr().err
    answer = {"image": "a.jpg", "worker": "W\x00", "labels": [281]}
    call_command("import_responses", "--dataset", "v2", "--task", "label1000", _write(tmp_path, [answer]))
    assert "NUL character" in capsys.readouterr().err
    assert ClassifyResponse.objects.count() == Label1000Response.objects.count() == Worker.objects.count() == 0
