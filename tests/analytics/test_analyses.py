"""Each analysis on the hand-built dataset of handmade.py, against answers worked out by hand."""

import numpy as np
import pytest

from analytics import analyses
from tests.analytics.handmade import SUPERCLASS_OF, handmade


def test_it_counts_objects_per_image_and_the_multi_object_share():
    data = handmade()
    result = analyses.objects_per_image(data.num_objects[data.has_classify])
    assert result.counts == {1: 1, 2: 2, 3: 1}
    assert result.multi.value == 0.75 and result.multi.n == 4


def test_it_ranks_pairs_that_cooccur_as_distinct_objects():
    pairs = analyses.cooccurring_pairs(handmade().object_groups)
    assert [(p.a, p.b) for p in pairs] == [(0, 2), (0, 4), (1, 4), (1, 5), (4, 5), (0, 1)]
    first, last = pairs[0], pairs[-1]
    assert (first.n_both, first.n_a, first.n_b) == (2, 3, 2)
    assert first.p_b_given_a == pytest.approx(2 / 3) and first.probability == 1.0
    assert last.probability == 0.5
    assert analyses.cooccurring_pairs(handmade().object_groups, min_count=2) == [pairs[0]]


def test_it_measures_model_accuracy_on_single_and_multi_object_images():
    data = handmade()
    [result] = analyses.model_accuracy(
        data.top1, data.original, data.num_objects, analyses.object_label_sets(data.object_groups),
        data.has_classify,
    )
    assert result.model == "m"
    assert result.top1_all.value == pytest.approx(0.4)
    assert (result.top1_single.value, result.top1_single.n) == (1.0, 1)
    assert result.top1_multi.value == pytest.approx(1 / 3) and result.top1_multi.n == 3
    assert (result.multilabel.value, result.multilabel.n) == (1.0, 4)
    assert result.top1_multi.low <= result.top1_multi.value <= result.top1_multi.high


def test_it_measures_human_label_disagreement_on_multi_object_images():
    data = handmade()
    result = analyses.human_label_disagreement(
        data.original, data.main_votes, data.num_annotators, data.num_objects, data.main_object,
        data.original_object,
    )
    assert result.n_multi == 3
    assert result.share_original_main.value == pytest.approx((0.4 + 0.7 + 0.9) / 3)
    assert result.majority_elsewhere == [0]
    assert sum(result.share_histogram) == 3 and result.share_histogram[4] == 1


def test_it_counts_labels_validated_as_often_as_the_original():
    result = analyses.label_validation_bias(handmade())
    assert result.images.tolist() == [0, 1, 2, 3, 4]
    assert result.at_least_half.tolist() == [2, 0, 1, 1, 0]
    assert result.at_least_equal.tolist() == [1, 0, 1, 1, 0]
    assert result.histogram(result.at_least_half) == {0: 2, 1: 2, 2: 1}


def test_it_finds_confusing_pairs_with_model_accuracy_on_them():
    [pair] = analyses.confusing_pairs(handmade())
    assert (pair.a, pair.b, pair.n_both_valid, pair.n_images) == (0, 2, 2, 2)
    assert pair.model_accuracy == {"m": 0.5}


def test_it_evaluates_models_with_humans_in_the_loop():
    [result] = analyses.human_in_the_loop(handmade())
    assert result.sf_prediction.value == pytest.approx(0.825) and result.sf_prediction.n == 4
    assert result.sf_original.value == pytest.approx(0.6)
    assert result.matches_main.value == 0.25 and result.matches_main.n == 4
    assert result.wrong_sf_histogram == [0, 0, 0, 0, 0, 0, 1, 0, 0, 1]
    assert (result.wrong_but_valid.value, result.wrong_but_valid.n) == (1.0, 2)


def test_it_builds_superclass_confusion_between_model_and_humans():
    data = handmade()
    mask = data.has_classify
    result = analyses.superclass_confusion(data.top1["m"][mask], data.main_label[mask], SUPERCLASS_OF)
    assert result.names == ["A", "B", "C"]
    assert result.counts.tolist() == [[1, 2, 0], [0, 0, 0], [0, 0, 1]]


def test_it_builds_the_superclass_cooccurrence_matrix():
    result = analyses.superclass_cooccurrence(handmade().object_groups, SUPERCLASS_OF)
    assert result.counts.tolist() == [[1, 2, 2], [2, 0, 0], [2, 0, 0]]


def test_it_finds_nearest_neighbours_and_near_duplicates():
    vectors = np.array([[1, 0], [0.99, 0.141], [0, 1], [-1, 0]], dtype=np.float16)
    first, second = analyses.nearest_neighbours(vectors, 0, k=2)
    assert (first.position, first.near_duplicate) == (1, True)
    assert (second.position, second.near_duplicate) == (2, False)
    assert second.similarity == pytest.approx(0.0, abs=1e-3)
    assert analyses.nearest_neighbours(vectors[:1], 0) == []


def test_it_looks_up_selection_frequencies_vectorised():
    lookup = analyses.SfLookup(handmade())
    sf = lookup.sf(np.array([0, 0, 4, 4]), np.array([2, 5, 4, -1]))
    assert sf[0] == 0.9 and np.isnan(sf[1]) and sf[2] == 0.5 and np.isnan(sf[3])
