"""Stored categories equal `analytics.aggregation.categorise`, image by image.

On PostgreSQL `categorise_images` categorises in SQL, elsewhere with the pure function: these
tests run on both and prove the SQL gives the same categories and the same label lists.
"""

import random
from collections import Counter

import pytest

from analytics.aggregation import categorise
from analytics.models import ImageCategory, SelectionFrequency
from analytics.services import categorise_images
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db

SETTINGS = [(0.5, 5), (0.3, 8), (1 / 3, 3), (0.9, 10), (1.0, 1), (0.25, 0), (0.7, 6)]


def fill(dataset, seed: int, images: int = 120) -> None:
    """Random counts with small denominators, so SF ties and SFs exactly at the threshold are common."""
    rng = random.Random(seed)
    labels = [LabelClassFactory(index=index) for index in range(8)]
    rows = []
    for number in range(images):
        original = rng.choice([*labels, None]) if number % 10 else None
        image = ImageFactory(dataset=dataset, external_id=f"{number}.jpg", original_label=original)
        for label in rng.sample(labels, rng.randint(0, len(labels))):
            shown = rng.choice([1, 2, 3, 4, 5, 6, 8, 9, 10, 12])
            selected = rng.choice([0, shown, rng.randint(0, shown)])
            rows.append(SelectionFrequency(image=image, label=label, n_selected=selected, n_shown=shown))
    SelectionFrequency.objects.bulk_create(rows)


def expected(dataset, sf_ratio: float, min_workers: int) -> dict:
    result = {}
    for image in dataset.images.select_related("original_label"):
        counts = {
            sf.label.index: (sf.n_selected, sf.n_shown)
            for sf in SelectionFrequency.objects.filter(image=image).select_related("label")
        }
        original = image.original_label.index if image.original_label else None
        result[image.pk] = categorise(original, counts, sf_ratio, min_workers) if counts else ("amb", [])
    return result


def stored(dataset) -> dict:
    return {
        row.image_id: (row.category, row.labels)
        for row in ImageCategory.objects.filter(image__dataset=dataset)
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_it_stores_what_the_pure_function_computes(seed):
    dataset = DatasetFactory()
    fill(dataset, seed)
    for sf_ratio, min_workers in SETTINGS:
        summary = categorise_images(dataset, sf_ratio, min_workers)
        want = expected(dataset, sf_ratio, min_workers)
        assert stored(dataset) == want, (sf_ratio, min_workers)
        assert summary.counts == Counter(category for category, _ in want.values())
        assert summary.follow_up == {image: labels for image, (category, labels) in want.items() if category == "fu"}
        rows = ImageCategory.objects.filter(image__dataset=dataset)
        assert set(rows.values_list("sf_ratio", "min_workers")) == {(sf_ratio, min_workers)}


def test_it_draws_every_category_and_labels_exactly_at_the_threshold():
    dataset = DatasetFactory()
    fill(dataset, 1)
    categorise_images(dataset, 0.5, 5)
    assert {category for category, _ in stored(dataset).values()} == {"easy", "mis", "fu", "amb"}
    at_threshold = [  # SF exactly 0.5 x SF(original label), among labels judged by 5 workers or more
        image for image in dataset.images.exclude(original_label=None)
        if any(
            2 * sf.n_selected * original.n_shown == sf.n_shown * original.n_selected
            for original in image.selection_frequencies.filter(label=image.original_label, n_shown__gte=5)
            for sf in image.selection_frequencies.filter(n_shown__gte=5, n_selected__gt=0)
        )
    ]
    assert at_threshold


def test_it_updates_changed_images_and_leaves_other_datasets_alone():
    dataset, other = DatasetFactory(), DatasetFactory()
    label, second = LabelClassFactory(index=1), LabelClassFactory(index=2)
    mine = ImageFactory(dataset=dataset, original_label=label)
    theirs = ImageFactory(dataset=other, original_label=label)
    for image in (mine, theirs):
        SelectionFrequency.objects.create(image=image, label=label, n_selected=9, n_shown=10)
    categorise_images(other)
    categorise_images(dataset)
    assert stored(dataset) == {mine.pk: ("easy", [1])}
    SelectionFrequency.objects.create(image=mine, label=second, n_selected=10, n_shown=10)
    summary = categorise_images(dataset)
    assert stored(dataset) == {mine.pk: ("fu", [2, 1])}
    assert summary.follow_up == {mine.pk: [2, 1]}
    assert stored(other) == {theirs.pk: ("easy", [1])}
    assert ImageCategory.objects.count() == 2


def test_deleting_an_image_deletes_its_category():
    dataset = DatasetFactory()
    label = LabelClassFactory(index=1)
    gone, kept = (ImageFactory(dataset=dataset, original_label=label) for _ in range(2))
    SelectionFrequency.objects.create(image=gone, label=label, n_selected=9, n_shown=10)
    categorise_images(dataset)
    gone.delete()
    assert list(ImageCategory.objects.values_list("image_id", "category")) == [(kept.pk, "amb")]
