"""Tie conventions of CLASSIFY aggregation: smallest (default) and first-seen, and the tie flags."""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from analytics.aggregation import ClassifyAnswer, aggregate_classify
from analytics.models import ClassifyResult
from tests.factories import DatasetFactory, LabelClassFactory, UserFactory


def answers(*rows: tuple[list[int], int]) -> list[ClassifyAnswer]:
    return [ClassifyAnswer(f"w{n}", tuple(selected), main) for n, (selected, main) in enumerate(rows)]


# Two workers see two objects, two see one; 9 and 3 get two main votes and three selections each;
# the first answer recorded says two objects, main 9.
TIED = answers(([9, 3], 9), ([3, 9], 3), ([3], 3), ([9], 9))


def test_it_breaks_ties_by_smallest_by_default_and_flags_them():
    result = aggregate_classify(TIED, original_label=9)
    assert (result.num_objects, result.main_label) == (1, 3)
    assert result.num_objects_tied and result.main_label_tied


def test_it_breaks_ties_by_the_answer_recorded_first():
    result = aggregate_classify(TIED, original_label=9, ties="first-seen")
    assert (result.num_objects, result.main_label) == (2, 9)
    reordered = aggregate_classify([TIED[2], TIED[1], TIED[0], TIED[3]], 9, ties="first-seen")
    assert (reordered.num_objects, reordered.main_label) == (1, 3)


def test_it_does_not_flag_clear_majorities():
    result = aggregate_classify(answers(([1, 2], 1), ([1, 2], 1), ([1], 2)), original_label=1, ties="first-seen")
    assert (result.num_objects, result.main_label) == (2, 1)
    assert not result.num_objects_tied and not result.main_label_tied


def test_it_refuses_an_unknown_convention():
    with pytest.raises(ValueError, match="unknown tie convention 'last'"):
        aggregate_classify(TIED, 9, ties="last")


@pytest.mark.django_db
def test_it_applies_the_command_option_and_shows_the_flags_in_export_and_api(tmp_path, capsys):
    for index in (3, 9):
        LabelClassFactory(index=index)
    DatasetFactory(name="tied")
    path = tmp_path / "classify.jsonl"
    path.write_text("".join(
        json.dumps({"image": "x", "original_label": 9, "worker": f"W{n}", "selected": list(a.selected),
                    "main": a.main}) + "\n" for n, a in enumerate(TIED)
    ))
    call_command("import_responses", "--dataset", "tied", "--task", "classify", str(path), "--create-missing-images")
    call_command("aggregate", "--dataset", "tied", "--ties", "first-seen")
    assert "1 with tied objects, 1 with a tied main label; ties: first-seen" in capsys.readouterr().out
    assert ClassifyResult.objects.get().main_label.index == 9
    call_command("aggregate", "--dataset", "tied")
    result = ClassifyResult.objects.get()
    assert (result.main_label.index, result.num_objects_tied, result.main_label_tied) == (3, True, True)
    out = tmp_path / "classify.out.jsonl"
    call_command("export", "--dataset", "tied", "--what", "classify", "--out", str(out))
    row = json.loads(out.read_text())
    assert (row["num_objects_tied"], row["main_label_tied"]) == (True, True)
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    api_row = client.get("/api/v1/classify-results/").json()["results"][0]
    assert (api_row["num_objects_tied"], api_row["main_label_tied"]) == (True, True)
