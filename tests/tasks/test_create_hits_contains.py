from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tasks.builders import ContainsOptions, batch_cost, build_contains_batch, negative_classes
from tasks.models import Batch, GoldLabel, Hit, HitItem
from tests.factories import CandidateLabelFactory, DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db
ROOT = [["n0", "entity"], ["n1", "animal"]]


@pytest.fixture
def dataset():
    """10 candidate images for `tabby`; images of a sibling cat class and of a distant vehicle class."""
    dataset = DatasetFactory(name="pets")
    tabby = LabelClassFactory(index=1, hypernyms=[*ROOT, ["n2", "cat"], ["n3", "tabby"]], superclass="Other mammals")
    tiger_cat = LabelClassFactory(index=2, hypernyms=[*ROOT, ["n2", "cat"], ["n4", "tiger cat"]],
                                  superclass="Other mammals")
    LabelClassFactory(index=3, hypernyms=[["n0", "entity"], ["n9", "car"]], superclass="Vehicles")
    for _ in range(10):
        CandidateLabelFactory(image=ImageFactory(dataset=dataset, original_label=tabby), label=tabby)
    for index in (2, 2, 2, 3, 3, 3):
        ImageFactory(dataset=dataset, original_label_id=LabelClassFactory(index=index).pk)
    marked = ImageFactory(dataset=dataset, original_label=tiger_cat)
    GoldLabel.objects.create(image=marked, label=tabby, is_positive=True)
    return dataset


def test_it_packs_a_labels_candidates_into_grids_with_gold_controls(dataset, capsys):
    call_command("create_hits", "--dataset", "pets", "--task", "contains", "--grid", "6", "--gold", "2")
    batch = Batch.objects.get()
    hits = list(batch.hits.order_by("id"))
    assert batch.status == Batch.Status.DRAFT and len(hits) == 3
    candidates = HitItem.objects.filter(hit__batch=batch, role=HitItem.Role.CANDIDATE)
    assert sorted(candidates.values_list("image_id", flat=True)) == sorted(
        dataset.images.filter(candidates__isnull=False).values_list("id", flat=True)
    )
    assert [hit.items.filter(role=HitItem.Role.CANDIDATE).count() for hit in hits] == [4, 4, 2]
    for hit in hits:
        positives = hit.items.filter(role=HitItem.Role.GOLD_POSITIVE)
        negatives = hit.items.filter(role=HitItem.Role.GOLD_NEGATIVE)
        assert [item.image.original_label.index for item in negatives] == [2]  # the sibling class, not the car
        assert positives.count() == 1 and GoldLabel.objects.filter(image=positives[0].image).exists()
        assert sorted(hit.items.values_list("position", flat=True)) == list(range(hit.items.count()))
    out = capsys.readouterr().out
    assert "3 HITs" in out
    assert "total cost $2.70" in out and "no platform fee on local" in out  # 3 HITs x 9 assignments x $0.10


def test_it_does_not_duplicate_a_batch_built_from_the_same_inputs(dataset, capsys):
    args = ["create_hits", "--dataset", "pets", "--task", "contains", "--grid", "6", "--gold", "2"]
    call_command(*args)
    call_command(*args)
    assert Batch.objects.count() == 1 and Hit.objects.count() == 3
    assert "already exists" in capsys.readouterr().out
    call_command(*args, "--seed", "7")
    assert Batch.objects.count() == 2


def test_it_shuffles_deterministically_by_seed(dataset):
    def order(seed: int) -> list[int]:
        result = build_contains_batch(dataset, ContainsOptions(grid=6, gold=2, seed=seed, name=f"run{seed}"))
        return list(HitItem.objects.filter(hit__batch=result.batch).order_by("hit_id", "position")
                    .values_list("image_id", flat=True))

    first = order(1)
    Batch.objects.all().delete()
    assert order(1) == first
    assert order(2) != first


def test_it_prices_hits_with_the_platforms_fee(settings):
    settings.PROLIFIC_SERVICE_FEE_RATE = Decimal("0.333")
    assert batch_cost(10, 9, Decimal("0.10"), "sandbox") == Decimal("10.80")
    assert batch_cost(10, 10, Decimal("0.10"), "production") == Decimal("14.00")
    assert batch_cost(10, 10, Decimal("0.10"), "local") == Decimal("10.00")
    assert batch_cost(10, 9, Decimal("0.10"), "prolific") == Decimal("12.00")  # Prolific's 33.3 % service fee


def test_it_orders_negative_classes_by_hierarchy():
    tabby = LabelClassFactory(index=11, hypernyms=[*ROOT, ["n2", "cat"], ["n3", "tabby"]], superclass="M")
    persian = LabelClassFactory(index=12, hypernyms=[*ROOT, ["n2", "cat"], ["n5", "persian"]], superclass="M")
    dog = LabelClassFactory(index=13, hypernyms=[*ROOT, ["n6", "dog"]], superclass="Dogs")
    car = LabelClassFactory(index=14, hypernyms=[["n0", "entity"], ["n9", "car"]], superclass="Vehicles")
    assert negative_classes(tabby, [car, dog, persian, tabby]) == [persian, dog, car]
    assert negative_classes(tabby, [car, dog, persian], mode="distant") == [car, dog, persian]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--dataset", "nope"], "no dataset named 'nope'"),
     (["--dataset", "empty"], "no candidate labels"),
     (["--dataset", "empty", "--grid", "4", "--gold", "4"], "leaves no room")],
)
def test_it_explains_bad_input(args, message):
    DatasetFactory(name="empty")
    with pytest.raises(CommandError, match=message):
        call_command("create_hits", "--task", "contains", *args)


def test_it_refuses_zero_assignments_rather_than_taking_the_default(dataset):
    with pytest.raises(CommandError, match="--assignments must be at least 1"):
        call_command("create_hits", "--dataset", "pets", "--task", "contains", "--assignments", "0")
