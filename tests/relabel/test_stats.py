import numpy as np
import pytest

from relabel import stats


def test_it_computes_the_wilson_interval():
    low, high = stats.wilson_interval(8, 10)
    assert (float(low), float(high)) == pytest.approx((0.4902, 0.9433), abs=1e-4)


def test_it_vectorises_wilson_and_handles_empty_counts():
    low, high = stats.wilson_interval(np.array([0, 5, 0]), np.array([10, 10, 0]))
    assert low[0] == 0.0 and high[0] == pytest.approx(0.2775, abs=1e-4)
    assert low[1] < 0.5 < high[1]
    assert (low[2], high[2]) == (0.0, 1.0)


def test_it_reports_a_proportion_with_its_interval():
    estimate = stats.proportion(3, 4)
    assert estimate.value == 0.75 and estimate.n == 4
    assert estimate.low < 0.75 < estimate.high


def test_it_gives_identical_bootstrap_numbers_for_the_same_seed():
    values = np.random.default_rng(1).random(500)
    first = stats.bootstrap_mean(values, seed=7)
    assert first == stats.bootstrap_mean(values, seed=7)
    assert first != stats.bootstrap_mean(values, seed=8)


def test_it_does_not_depend_on_the_chunk_size(monkeypatch):
    values = np.random.default_rng(2).random(300)
    whole = stats.bootstrap_mean(values, resamples=200, seed=3)
    monkeypatch.setattr(stats, "CHUNK_CELLS", 300 * 7)
    assert stats.bootstrap_mean(values, resamples=200, seed=3) == whole


def test_it_brackets_the_mean_and_shrinks_with_more_images():
    rng = np.random.default_rng(0)
    small = stats.bootstrap_mean(rng.random(50))
    large = stats.bootstrap_mean(rng.random(5000))
    assert small.low < small.value < small.high
    assert large.high - large.low < small.high - small.low


def test_it_bootstraps_a_ratio_on_a_subset():
    estimate = stats.bootstrap_ratio(np.array([1, 0, 0, 1]), np.array([1, 1, 0, 1]))
    assert estimate.value == pytest.approx(2 / 3) and estimate.n == 3
    assert stats.bootstrap_ratio(np.array([1, 1]), np.array([0, 0])).n == 0


def test_it_resamples_workers_within_images_for_selection_frequencies():
    single_image = stats.bootstrap_selection_frequency(np.array([5]), np.array([10]))
    assert single_image.value == 0.5
    assert single_image.low < 0.5 < single_image.high
    unanimous = stats.bootstrap_selection_frequency(np.array([10, 10]), np.array([10, 10]))
    assert (unanimous.low, unanimous.high) == (1.0, 1.0)


def test_it_returns_nan_without_data():
    assert np.isnan(stats.bootstrap_mean(np.array([])).value)
    assert np.isnan(stats.bootstrap_selection_frequency(np.array([0]), np.array([0])).value)
