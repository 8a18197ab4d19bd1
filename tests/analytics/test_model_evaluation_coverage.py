"""The intervals of the model evaluation contain the truth at their nominal rate (95 % ± 2 %) on
simulated data: accuracies (images resampled) and SF figures (images and workers resampled)."""

import numpy as np
import pytest

from relabel.stats import bootstrap_ratio, bootstrap_selection_frequency, bootstrap_share_at_least

SIMULATIONS = 1000
IMAGES = 200


def coverage(estimates, truth: float) -> float:
    return float(np.mean([e.low <= truth <= e.high for e in estimates]))


def test_accuracy_intervals_cover_the_true_accuracy():
    rng = np.random.default_rng(7)
    subset = np.ones(IMAGES, dtype=bool)
    estimates = [bootstrap_ratio(rng.random(IMAGES) < 0.7, subset, seed=s) for s in range(SIMULATIONS)]
    assert coverage(estimates, 0.7) == pytest.approx(0.95, abs=0.02)


def test_accuracy_on_a_random_subset_covers_the_true_accuracy():
    """Accuracy on multi-object images: the subset's size varies from one sample to the next."""
    rng = np.random.default_rng(8)
    estimates = []
    for s in range(SIMULATIONS):
        multi = rng.random(IMAGES) < 0.3
        correct = rng.random(IMAGES) < np.where(multi, 0.55, 0.8)
        estimates.append(bootstrap_ratio(correct & multi, multi, seed=s))
    assert coverage(estimates, 0.55) == pytest.approx(0.95, abs=0.02)


def workers_answer(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Images with true SFs from Beta(2, 3), each judged by 3 to 9 workers."""
    shown = rng.integers(3, 10, size=IMAGES)
    return rng.binomial(shown, rng.beta(2, 3, size=IMAGES)), shown


def test_mean_sf_intervals_cover_the_true_mean_sf():
    rng = np.random.default_rng(9)
    estimates = [bootstrap_selection_frequency(*workers_answer(rng), seed=s) for s in range(SIMULATIONS)]
    assert coverage(estimates, 2 / 5) == pytest.approx(0.95, abs=0.02)


def test_valid_share_intervals_cover_the_true_share():
    rng = np.random.default_rng(10)
    big_k, big_m = [], []
    for _ in range(2000):
        k, m = workers_answer(rng)
        big_k.append(k)
        big_m.append(m)
    truth = float(np.mean(np.concatenate(big_k) >= 0.5 * np.concatenate(big_m)))
    estimates = [bootstrap_share_at_least(*workers_answer(rng), 0.5, seed=s) for s in range(SIMULATIONS)]
    assert coverage(estimates, truth) == pytest.approx(0.95, abs=0.02)
