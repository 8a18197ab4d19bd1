"""Every figure of analytics.model_evaluation worked out by hand on a six-image dataset."""

import numpy as np
import pytest

from analytics.analyses import DatasetArrays
from analytics.model_evaluation import FIGURES, evaluate_models
from relabel.stats import bootstrap_share_at_least

SF_ROWS = [  # image, label, n_selected, n_shown
    (0, 1, 4, 5),
    (1, 2, 3, 5), (1, 7, 5, 5),
    (2, 3, 2, 4), (2, 8, 1, 4),
    (3, 4, 5, 5), (3, 0, 0, 5),
    (4, 5, 3, 3),
]


def dataset() -> DatasetArrays:
    sf = np.array(SF_ROWS, dtype=np.int64)
    return DatasetArrays(
        image_ids=np.arange(10, 16), external_ids=[f"i{n}" for n in range(6)],
        original=np.array([1, 2, 3, 4, 5, 6]),
        sf_image=sf[:, 0], sf_label=sf[:, 1], sf_selected=sf[:, 2], sf_shown=sf[:, 3],
        has_classify=np.array([True, True, True, True, False, False]),
        num_objects=np.array([1, 2, 2, 1, 0, 0]),
        num_annotators=np.array([5, 5, 5, 5, 0, 0]),
        main_label=np.array([1, 7, 9, 4, -1, -1]),
        main_votes=[{1: 5}, {7: 4, 2: 1}, {9: 3, 3: 2}, {4: 5}, {}, {}],
        object_groups=[[[1]], [[2], [7]], [[3, 8], [9]], [[4]], [], []],
        main_object=np.array([0, 1, 1, 0, -1, -1]),
        original_object=np.array([0, 0, 0, 0, -1, -1]),
    )


TOPK = np.array([
    [1, 0, 0, 0, 0],    # right
    [7, 2, 0, 0, 0],    # wrong, ImageNet label 2nd; 7 is an object's label and the main label
    [8, 0, 11, 12, 13],  # wrong; 8 is an object's label (same object as 3), not the main label (9)
    [0, 4, 11, 12, 13],  # wrong, ImageNet label 2nd; 0 is no object's label
    [5, 0, 0, 0, 0],    # right, no CLASSIFY result
    [-1, -1, -1, -1, -1],  # no prediction: not judged
])


@pytest.fixture(scope="module")
def evaluation():
    return evaluate_models(dataset(), {"m": TOPK}, resamples=300)[0]


@pytest.mark.parametrize(("figure", "value", "n"), [
    ("top1", 2 / 5, 5),                # images 0 and 4 of the five predicted
    ("top5", 4 / 5, 5),                # 0, 1, 3, 4
    ("multilabel", 3 / 4, 4),          # CLASSIFY images 0-3: 1, 7 and 8 are objects' labels, 0 is not
    ("main_label", 2 / 4, 4),          # 1 = 1, 7 = 7
    ("top1_single", 1 / 2, 2),         # one-object images 0 (right) and 3 (wrong)
    ("top1_multi", 0 / 2, 2),          # images 1 and 2
    ("top1_main_differs", 0 / 2, 2),   # images 1 (main 7 ≠ 2) and 2 (main 9 ≠ 3)
    ("main_main_differs", 1 / 2, 2),   # image 1's top-1 is its main label
    ("sf_top1", (4 / 5 + 5 / 5 + 1 / 4 + 0 / 5 + 3 / 3) / 5, 5),
    ("sf_original", (4 / 5 + 3 / 5 + 2 / 4 + 5 / 5 + 3 / 3) / 5, 5),
    ("wrong_valid", 1 / 3, 3),         # wrong top-1 SFs 1.0, 0.25 and 0.0: one at least 0.5
])
def test_it_computes_each_figure_as_worked_out_by_hand(evaluation, figure, value, n):
    estimate = evaluation.figures[figure]
    assert estimate.value == pytest.approx(value)
    assert estimate.n == n
    assert estimate.low <= estimate.value <= estimate.high


def test_it_judges_a_model_on_its_predicted_images_and_bins_its_wrong_predictions(evaluation):
    assert evaluation.images == 5
    assert set(evaluation.figures) == set(FIGURES)
    assert evaluation.wrong_sf_histogram == [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]  # SF 0.0, 0.25, 1.0


def test_it_gives_nan_where_a_model_has_no_image_of_a_subset():
    topk = {"none": np.full((6, 5), -1), "other": TOPK}
    results = evaluate_models(dataset(), topk, resamples=50)
    assert [r.model for r in results] == ["none", "other"]
    assert results[0].images == 0 and np.isnan(results[0].figures["top1"].value)
    assert results[0].as_dict()["figures"]["top1"] == {"value": None, "low": None, "high": None, "n": 0}


def test_it_is_deterministic_for_a_seed():
    first = evaluate_models(dataset(), {"m": TOPK}, resamples=200, seed=3)[0]
    again = evaluate_models(dataset(), {"m": TOPK}, resamples=200, seed=3)[0]
    assert first.as_dict() == again.as_dict()


def test_the_worker_resampled_share_is_exact_at_the_extremes():
    everyone = bootstrap_share_at_least(np.array([5, 4]), np.array([5, 4]), 0.5)
    assert (everyone.value, everyone.low, everyone.high) == (1.0, 1.0, 1.0)
    # One image, 2 of 4 workers: a resample keeps SF >= 0.5 with P(Binomial(4, 1/2) >= 2) = 11/16; the
    # draws (0 or 1) are centred on the observed share 1, so the lower end is 0 + (1 - 11/16).
    split = bootstrap_share_at_least(np.array([2]), np.array([4]), 0.5, resamples=4000)
    assert split.value == 1.0 and split.low == pytest.approx(5 / 16, abs=0.02) and split.high == 1.0
