"""create_hits --adaptive and top_up: a first round at the minimum, then HITs for the undecided items only."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tasks import tasks as celery_tasks
from tasks.models import Batch, Hit, HitItem
from tasks.top_up import savings, top_up
from tests.factories import CandidateLabelFactory, DatasetFactory, ImageFactory, LabelClassFactory, WorkerFactory
from tests.hitdata import judged

pytestmark = pytest.mark.django_db
ADAPTIVE = ["create_hits", "--dataset", "pets", "--task", "contains", "--grid", "6", "--gold", "2", "--adaptive"]


@pytest.fixture
def images():
    """Four tabby photos, each a candidate for its own label only; a tiger cat for gold negatives."""
    dataset = DatasetFactory(name="pets")
    tabby = LabelClassFactory(index=1)
    ImageFactory(dataset=dataset, original_label=LabelClassFactory(index=2))
    photos = [ImageFactory(dataset=dataset, original_label=tabby) for _ in range(4)]
    for photo in photos:
        CandidateLabelFactory(image=photo, label=tabby)
    return photos


def answer_first_round(images, selected_by_all: int = 3) -> Batch:
    """Three workers: the first `selected_by_all` photos selected by all, the others by nobody."""
    batch = Batch.objects.get()
    hit = batch.hits.get()
    for _ in range(3):
        chosen = {item.image for item in hit.items.all() if item.image in images[:selected_by_all]}
        judged(hit, chosen, worker=WorkerFactory())
    Hit.objects.filter(pk=hit.pk).update(status=Hit.Status.COMPLETE)
    return batch


def test_it_builds_the_first_round_at_the_minimum_and_stores_the_settings(images, capsys):
    call_command(*ADAPTIVE, "--min-assignments", "3", "--max-assignments", "7", "--alpha", "0.01")
    batch = Batch.objects.get()
    assert batch.assignments_per_hit == 3
    assert batch.options["adaptive"] == {"min_assignments": 3, "max_assignments": 7, "alpha": 0.01}
    assert "top_up --dataset pets --task contains" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    (["--assignments", "5"], "use --min-assignments, not --assignments"),
    (["--min-assignments", "5", "--max-assignments", "3"], "below --min-assignments"),
    (["--alpha", "1.5"], "--alpha must be in"),
])
def test_it_explains_bad_adaptive_settings(images, extra, message):
    with pytest.raises(CommandError, match=message):
        call_command(*ADAPTIVE, *extra)
    assert not Batch.objects.exists()


def test_it_asks_again_only_about_undecided_pairs_in_new_grids_with_fresh_gold(images, capsys):
    call_command(*ADAPTIVE)
    answer_first_round(images)
    call_command("top_up", "--dataset", "pets", "--task", "contains", "--step", "2")
    out = capsys.readouterr().out
    assert "4 images, 3 decided" in out and "1 undecided" in out
    top = Batch.objects.exclude(pk=Batch.objects.order_by("pk").first().pk).get()
    assert top.assignments_per_hit == 2 and top.options["adaptive"]["round"] == 1
    items = HitItem.objects.filter(hit__batch=top)
    assert list(items.filter(role=HitItem.Role.CANDIDATE).values_list("image_id", flat=True)) == [images[3].pk]
    gold = items.get(role=HitItem.Role.GOLD_POSITIVE).image
    assert gold in images[:3]  # a known positive of the first round
    assert f"Next: publish_hits --batch {top.pk}" in out

    call_command("top_up", "--dataset", "pets", "--task", "contains")
    assert Batch.objects.count() == 2  # the undecided photo waits for its open HIT
    assert "1 waiting" in capsys.readouterr().out


def test_it_says_what_to_run_first():
    DatasetFactory(name="pets")
    with pytest.raises(CommandError, match="no adaptive CONTAINS batch: run create_hits"):
        call_command("top_up", "--dataset", "pets", "--task", "contains")
    with pytest.raises(CommandError, match="no dataset named 'nope'"):
        call_command("top_up", "--dataset", "nope", "--task", "contains")


def test_it_reports_judgments_and_money_against_fixed_redundancy(images):
    call_command(*ADAPTIVE)
    batch = answer_first_round(images, selected_by_all=4)
    result = savings(batch.dataset, "contains")
    assert (result.plan.decided, result.judgments, result.fixed_judgments) == (4, 12, 36)
    assert result.saved_share == pytest.approx(2 / 3)
    # 1 HIT x 9 vs x 3 at $0.10: a local batch pays no platform fee
    assert result.fixed_cost == Decimal("0.90") and result.cost == Decimal("0.30")
    assert top_up(batch.dataset, "contains").builds == []


def test_the_celery_sync_tops_up_an_adaptive_batch_when_configured(images, settings):
    settings.RELABEL_TOP_UP_AFTER_SYNC = True
    call_command(*ADAPTIVE, "--provider", "local")
    batch = answer_first_round(images)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.PUBLISHED)
    celery_tasks.sync_batch(batch.pk)
    assert Batch.objects.filter(options__adaptive__first_batch=batch.pk).count() == 1
