"""create_hits --max-hits builds a small trial CONTAINS batch; without it, batch keys are what they were."""

import io

import pytest
from django.core.management import CommandError, call_command

from tasks.builders import ContainsOptions, options_dict
from tasks.models import Batch, Hit
from tests.factories import CandidateLabelFactory, DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    dataset = DatasetFactory(name="pets")
    for index in range(4):
        label = LabelClassFactory(index=index)
        for _ in range(2):
            CandidateLabelFactory(image=ImageFactory(dataset=dataset, original_label=label), label=label)
    return dataset


def test_it_builds_only_the_first_grids(dataset, capsys):
    call_command("create_hits", "--dataset", "pets", "--task", "contains", "--grid", "4", "--gold", "0")
    assert Hit.objects.count() == 4
    call_command("create_hits", "--dataset", "pets", "--task", "contains", "--grid", "4", "--gold", "0",
                 "--max-hits", "2")
    assert Batch.objects.count() == 2 and Batch.objects.order_by("pk").last().hits.count() == 2
    with pytest.raises(CommandError, match="--max-hits cannot be negative"):
        call_command("create_hits", "--dataset", "pets", "--task", "contains", "--max-hits", "-1")


def test_it_keeps_the_keys_of_batches_built_before_the_option():
    assert "max_hits" not in options_dict(ContainsOptions())
    assert options_dict(ContainsOptions(max_hits=3))["max_hits"] == 3


def test_it_warns_only_about_the_classes_of_the_grids_it_built(dataset):
    """Every class here lacks gold controls; a two-grid trial batch warns about its two classes, not all four."""
    err = io.StringIO()
    call_command("create_hits", "--dataset", "pets", "--task", "contains", "--grid", "4", "--gold", "2",
                 "--max-hits", "2", stdout=io.StringIO(), stderr=err)
    built = set(Hit.objects.values_list("label__index", flat=True))
    warned = {int(line.split()[2]) for line in err.getvalue().splitlines() if line.startswith("warning: class")}
    assert len(built) == 2 and warned == built
