import pytest
from django.core.management import CommandError, call_command

from analytics.models import ImageCategory, SelectionFrequency
from analytics.services import categorise_images
from tasks.models import Batch, HitItem, TaskKind
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    """Images whose selection frequencies make each category (original label: class 1)."""
    dataset = DatasetFactory(name="cls")
    one, two, three = (LabelClassFactory(index=i) for i in (1, 2, 3))
    sf = {
        "fu.jpg": {one: (8, 10), two: (5, 10), three: (3, 10)},   # 0.5 >= 0.5 x 0.8; 0.3 is not
        "easy.jpg": {one: (9, 10), two: (1, 10)},
        "mis.jpg": {one: (0, 10), two: (7, 10)},
        "amb.jpg": {one: (3, 3)},                                  # fewer than 5 workers
        "none.jpg": {},
        "edge.jpg": {one: (4, 10), two: (2, 10), three: (4, 4)},   # exactly at the ratio; 3 has too few workers
    }
    for name, counts in sf.items():
        image = ImageFactory(dataset=dataset, external_id=name, original_label=one)
        for label, (selected, shown) in counts.items():
            SelectionFrequency.objects.create(image=image, label=label, n_selected=selected, n_shown=shown)
    return dataset


def categories(dataset) -> dict:
    rows = ImageCategory.objects.filter(image__dataset=dataset).select_related("image")
    return {row.image.external_id: (row.category, row.labels) for row in rows}


def test_it_categorises_images_by_the_papers_rule(dataset):
    summary = categorise_images(dataset, sf_ratio=0.5, min_workers=5)
    assert categories(dataset) == {
        "fu.jpg": ("fu", [1, 2]), "easy.jpg": ("easy", [1]), "mis.jpg": ("mis", []),
        "amb.jpg": ("amb", []), "none.jpg": ("amb", []), "edge.jpg": ("fu", [1, 2]),
    }
    assert summary.counts == {"fu": 2, "easy": 1, "mis": 1, "amb": 2}


def test_it_builds_one_classify_item_per_follow_up_image(dataset, capsys):
    call_command("create_hits", "--dataset", "cls", "--task", "classify", "--per-hit", "1", "--assignments", "5")
    batch = Batch.objects.get(kind=TaskKind.CLASSIFY)
    items = HitItem.objects.filter(hit__batch=batch).select_related("image")
    assert {item.image.external_id: sorted(item.labels) for item in items} == {
        "fu.jpg": [1, 2], "edge.jpg": [1, 2]
    }
    assert batch.hits.count() == 2 and batch.assignments_per_hit == 5
    out = capsys.readouterr().out
    assert "categories: easy 1, mis 1, fu 2, amb 2" in out and "2 HITs" in out
    call_command("create_hits", "--dataset", "cls", "--task", "classify", "--per-hit", "1", "--assignments", "5")
    assert Batch.objects.count() == 1


def test_it_packs_several_images_per_hit(dataset):
    call_command("create_hits", "--dataset", "cls", "--task", "classify", "--per-hit", "10")
    assert Batch.objects.get().hits.get().items.count() == 2


def test_it_explains_when_no_image_needs_classify(dataset):
    with pytest.raises(CommandError, match="no image of dataset 'cls' needs CLASSIFY"):
        call_command("create_hits", "--dataset", "cls", "--task", "classify", "--sf-ratio", "1.0")


def test_it_builds_an_adaptive_first_round_of_classify_items(dataset, capsys):
    call_command("create_hits", "--dataset", "cls", "--task", "classify", "--adaptive", "--max-assignments", "7")
    batch = Batch.objects.get(kind=TaskKind.CLASSIFY)
    assert batch.assignments_per_hit == 3
    assert batch.options["adaptive"] == {"min_assignments": 3, "max_assignments": 7, "alpha": 0.05}
    assert "top_up --dataset cls --task classify" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--adaptive works for --task contains and classify"):
        call_command("create_hits", "--dataset", "cls", "--task", "label1000", "--adaptive")
