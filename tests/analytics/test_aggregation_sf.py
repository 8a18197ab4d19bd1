import pytest
from django.core.management import call_command
from django.db.models import ProtectedError

from analytics.models import SelectionFrequency
from analytics.services import aggregate_selection_frequencies
from tasks.models import Assignment
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory
from tests.hitdata import contains_hit, images, judged

pytestmark = pytest.mark.django_db


def sf_table(dataset) -> dict:
    rows = SelectionFrequency.objects.filter(image__dataset=dataset)
    return {(r.image_id, r.label_id): (r.n_selected, r.n_shown) for r in rows}


def test_it_counts_selected_over_shown_for_every_pair():
    dataset = DatasetFactory()
    a, b, c = images(3, dataset=dataset)
    cat, dog = LabelClassFactory(), LabelClassFactory()
    cats, dogs = contains_hit(cat, [a, b, c]), contains_hit(dog, [a, b])
    judged(cats, {a, b})
    judged(cats, {a})
    judged(cats, {a}, status=Assignment.Status.APPROVED)
    judged(cats, set())
    judged(dogs, {b})
    assert aggregate_selection_frequencies(dataset) == 5
    assert sf_table(dataset) == {
        (a.pk, cat.pk): (3, 4), (b.pk, cat.pk): (1, 4), (c.pk, cat.pk): (0, 4),
        (a.pk, dog.pk): (0, 1), (b.pk, dog.pk): (1, 1),
    }
    assert SelectionFrequency.objects.get(image=a, label=cat).sf == 0.75


def test_it_leaves_out_flagged_unfinished_and_rejected_assignments():
    dataset = DatasetFactory()
    a, b = images(2, dataset=dataset)
    hit = contains_hit(LabelClassFactory(), [a, b])
    judged(hit, {a})
    judged(hit, {a, b}, flagged=True)
    judged(hit, {b}, status=Assignment.Status.REJECTED)
    judged(hit, {b}, status=Assignment.Status.ACCEPTED)
    aggregate_selection_frequencies(dataset)
    assert sf_table(dataset) == {(a.pk, hit.label_id): (1, 1), (b.pk, hit.label_id): (0, 1)}


def test_it_replaces_the_datasets_rows_and_leaves_other_datasets_alone(capsys):
    dataset, other = DatasetFactory(), DatasetFactory()
    mine, theirs = images(1, dataset=dataset)[0], images(1, dataset=other)[0]
    hit, other_hit = contains_hit(LabelClassFactory(), [mine]), contains_hit(LabelClassFactory(), [theirs])
    first = judged(hit, {mine})
    judged(other_hit, {theirs})
    aggregate_selection_frequencies(other)
    aggregate_selection_frequencies(dataset)
    first.delete()
    judged(hit, set())
    call_command("aggregate", "--dataset", dataset.name)
    assert sf_table(dataset) == {(mine.pk, hit.label_id): (0, 1)}
    assert sf_table(other) == {(theirs.pk, other_hit.label_id): (1, 1)}
    assert "1 selection frequencies" in capsys.readouterr().out


def test_it_drops_pairs_whose_judgments_no_longer_count():
    dataset = DatasetFactory()
    a, b = images(2, dataset=dataset)
    hit, other = contains_hit(LabelClassFactory(), [a]), contains_hit(LabelClassFactory(), [b])
    judged(hit, {a})
    excluded_later = judged(other, {b})
    aggregate_selection_frequencies(dataset)
    Assignment.objects.filter(pk=excluded_later.pk).update(flagged=True)
    assert aggregate_selection_frequencies(dataset) == 1
    assert sf_table(dataset) == {(a.pk, hit.label_id): (1, 1)}


def test_a_label_class_with_selection_frequencies_cannot_be_deleted():
    label = LabelClassFactory()
    row = SelectionFrequency.objects.create(image=ImageFactory(), label=label, n_selected=1, n_shown=2)
    with pytest.raises(ProtectedError, match=r"SelectionFrequency\.label") as error:
        label.delete()
    assert list(error.value.protected_objects) == [row]


def test_deleting_an_image_deletes_its_selection_frequencies_only():
    label, other_label = LabelClassFactory(), LabelClassFactory()
    gone, kept = ImageFactory(), ImageFactory()
    for image in (gone, kept):
        for each in (label, other_label):
            SelectionFrequency.objects.create(image=image, label=each, n_selected=0, n_shown=1)
    gone.delete()
    assert set(SelectionFrequency.objects.values_list("image_id", "label_id")) == {
        (kept.pk, label.pk), (kept.pk, other_label.pk)
    }


def test_a_re_aggregation_adds_new_pairs_and_keeps_unchanged_ones():
    dataset = DatasetFactory()
    a, b = images(2, dataset=dataset)
    cat, dog = LabelClassFactory(), LabelClassFactory()
    judged(contains_hit(cat, [a, b]), {a})
    aggregate_selection_frequencies(dataset)
    judged(contains_hit(dog, [b]), {b})
    assert aggregate_selection_frequencies(dataset) == 3
    assert sf_table(dataset) == {(a.pk, cat.pk): (1, 1), (b.pk, cat.pk): (0, 1), (b.pk, dog.pk): (1, 1)}
