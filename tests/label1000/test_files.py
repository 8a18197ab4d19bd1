import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.models import Image
from label1000.models import Label1000Response
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    for index in range(6):
        LabelClassFactory(index=index)
    dataset = DatasetFactory(name="expert")
    ImageFactory(dataset=dataset, external_id="a.jpg", original_label=LabelClassFactory(index=1))
    return dataset


def write(tmp_path, lines: list) -> str:
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return str(path)


def test_it_imports_answers_once_and_exports_them_in_the_same_format(tmp_path, dataset, capsys):
    good = [
        {"image": "a.jpg", "worker": "A1", "labels": [3, 1], "seconds": 12.5},
        {"image": "b.jpg", "worker": "A1", "labels": ["n00000002"], "original_label": 2, "practice": True},
    ]
    bad = [{"image": "a.jpg", "worker": "A2", "labels": [1, 1]}, {"image": "a.jpg", "worker": "A3", "labels": []},
           {"image": "a.jpg", "worker": "A4", "labels": [1, 2, 3, 4, 5, 0]}, "not json"]
    path = write(tmp_path, good + bad)
    call_command("import_responses", "--dataset", "expert", "--task", "label1000", path, "--create-missing-images")
    assert "2 responses imported" in capsys.readouterr().out
    call_command("import_responses", "--dataset", "expert", "--task", "label1000", path, "--create-missing-images")
    assert Label1000Response.objects.count() == 2
    assert Image.objects.get(external_id="b.jpg").original_label.index == 2
    out = tmp_path / "out.jsonl"
    call_command("export", "--dataset", "expert", "--what", "label1000_responses", "--raw-worker-ids",
                 "--out", str(out))
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert exported == [
        {"image": "a.jpg", "original_label": 1, "worker": "A1", "labels": [3, 1], "practice": False, "seconds": 12.5},
        {"image": "b.jpg", "original_label": 2, "worker": "A1", "labels": [2], "practice": True, "seconds": 0.0},
    ]


def test_it_reports_bad_lines_with_their_numbers(tmp_path, dataset, capsys):
    path = write(tmp_path, [{"image": "a.jpg", "worker": "A2", "labels": [1, 1]}, {"image": "zzz", "worker": "A",
                                                                                    "labels": [1]}])
    call_command("import_responses", "--dataset", "expert", "--task", "label1000", path)
    err = capsys.readouterr().err
    assert "line 1:" in err and "twice" in err and "line 2:" in err and "unknown image" in err
    assert not Label1000Response.objects.exists()


def test_it_refuses_a_missing_file(tmp_path, dataset):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_responses", "--dataset", "expert", "--task", "label1000", str(tmp_path / "nope"))
