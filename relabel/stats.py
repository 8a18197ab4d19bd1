"""Confidence intervals: closed-form Wilson intervals and seeded, vectorised bootstraps.

Every function is deterministic for a given seed, so figures recomputed from the same judgments are
identical. Bootstraps over images use multinomial counts over groups of identical images when
values are discrete (accuracies, SF counts) and a (B x n) index matrix otherwise, both drawn in
chunks of at most CHUNK_CELLS cells, so 50k images x 1000 resamples take well under a second.
"""

import math
from dataclasses import dataclass

import numpy as np

Z_95 = 1.959963984540054
DEFAULT_RESAMPLES = 1000
CHUNK_CELLS = 4_000_000
MAX_GROUPS = 4096


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a two-sided confidence interval (NaN when there is no data)."""

    value: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


def wilson_interval(k: np.ndarray | int, n: np.ndarray | int, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (vectorised). n == 0 gives (0, 1)."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    safe_n = np.where(n > 0, n, 1.0)
    p = k / safe_n
    z2 = z * z
    denom = 1.0 + z2 / safe_n
    centre = (p + z2 / (2 * safe_n)) / denom
    half = z * np.sqrt(p * (1 - p) / safe_n + z2 / (4 * safe_n * safe_n)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def proportion(k: int, n: int) -> Estimate:
    """A proportion with its Wilson interval."""
    low, high = wilson_interval(k, n)
    value = k / n if n else float("nan")
    return Estimate(value, float(low), float(high), int(n))


def _chunks(resamples: int, width: int) -> list[int]:
    """Row counts of the chunks of a (resamples x width) draw, CHUNK_CELLS cells at most each."""
    rows = max(1, CHUNK_CELLS // max(width, 1))
    sizes = [rows] * (resamples // rows)
    if resamples % rows:
        sizes.append(resamples % rows)
    return sizes


def _percentile_estimate(value: float, draws: np.ndarray, n: int, level: float) -> Estimate:
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return Estimate(float(value), float("nan"), float("nan"), n)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Estimate(float(value), float(low), float(high), n)


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(rows, axis=0, return_inverse=True), same order; rows of small non-negative integers
    (counts, 0/1 flags: the usual case) are packed into one int64 key first, which sorts some 30
    times faster than the row-wise comparison."""
    if rows.size and np.all(rows >= 0) and np.all(rows == np.floor(rows)):
        radix = rows.max(axis=0).astype(np.int64) + 1
        if np.prod(radix.astype(np.float64)) < 2**62:
            weights = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]])
            _, first, inverse = np.unique(rows.astype(np.int64) @ weights, return_index=True,
                                          return_inverse=True)
            return rows[first], inverse
    return np.unique(rows, axis=0, return_inverse=True)


def _group_counts(rows: np.ndarray, resamples: int, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """Bootstrap over images in multinomial form: images with identical rows are exchangeable, so
    a resample is fully described by how many draws fall in each group of identical rows.
    Returns the distinct rows (G x c) and chunks of (rows x G) counts."""
    groups, inverse = _unique_rows(rows)
    freq = np.bincount(inverse.ravel(), minlength=groups.shape[0]) / rows.shape[0]
    n = rows.shape[0]
    return groups, [rng.multinomial(n, freq, size=size) for size in _chunks(resamples, groups.shape[0])]


def bootstrap_mean(
    values: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0, level: float = 0.95
) -> Estimate:
    """Mean of per-image values with a percentile bootstrap interval over images.

    Few distinct values (accuracies, shares with a small denominator): multinomial counts per
    distinct value. Otherwise a (B x n) index matrix drawn in chunks.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    if np.unique(values).size <= MAX_GROUPS:
        groups, counts = _group_counts(values[:, None], resamples, rng)
        draws = np.concatenate([(c * groups[:, 0]).sum(axis=1) / n for c in counts])
    else:
        draws = np.concatenate(
            [values[rng.integers(0, n, size=(rows, n))].mean(axis=1) for rows in _chunks(resamples, n)]
        )
    return _percentile_estimate(values.mean(), draws, n, level)


def bootstrap_ratio(
    numerators: np.ndarray,
    denominators: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """sum(num) / sum(den) over images, resampling images; e.g. accuracy on a subset: num = correct
    and in the subset, den = in the subset. Resamples with an empty subset are dropped."""
    rows = np.column_stack([np.asarray(numerators, np.float64), np.asarray(denominators, np.float64)])
    total = rows[:, 1].sum() if rows.size else 0.0
    if rows.shape[0] == 0 or total == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), int(total))
    groups, counts = _group_counts(rows, resamples, np.random.default_rng(seed))
    draws = []
    for c in counts:
        num, den = (c * groups[:, 0]).sum(axis=1), (c * groups[:, 1]).sum(axis=1)
        draws.append(np.where(den > 0, num / np.where(den > 0, den, 1), np.nan))
    return _percentile_estimate(rows[:, 0].sum() / total, np.concatenate(draws), int(total), level)


def shrinkage(k: np.ndarray, m: np.ndarray) -> tuple[float, float]:
    """(mean, scale): per-image SFs p pulled to mean + scale·(p - mean) keep only the between-image spread.

    The observed SFs vary for two reasons: images differ, and each SF comes from a few workers. Their
    sample variance S² holds both; the within part is estimated by the mean of k/m·(1 - k/m)/(m - 1),
    unbiased for the binomial variance. Scaling deviations by sqrt(1 - within / S²) leaves the
    between part, so that resampling images from these values and then each image's workers adds the
    worker noise once, not twice (the adjusted two-stage bootstrap of Davison & Hinkley 1997, §3.8).
    """
    p = k / m
    if p.size < 2:
        return float(p.mean()), 0.0
    spread = p.var(ddof=1)
    within = np.where(m > 1, p * (1 - p) / np.maximum(m - 1, 1), 0.0).mean()
    return float(p.mean()), float(np.sqrt(max(spread - within, 0.0) / spread)) if spread > 0 else 0.0


def _two_stage_draws(
    k: np.ndarray, m: np.ndarray, resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.random.Generator]:
    """Distinct (k, m) pairs, their shrunk SFs, image-resample counts per pair and the worker generator."""
    image_rng, worker_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    groups, counts = _group_counts(np.column_stack([k, m]), resamples, image_rng)
    mean, scale = shrinkage(k, m)
    group_sf = np.clip(mean + scale * (groups[:, 0] / groups[:, 1] - mean), 0.0, 1.0)
    return groups, group_sf, counts, worker_rng


def _judged(n_selected: np.ndarray, n_shown: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(n_selected, dtype=np.int64)
    m = np.asarray(n_shown, dtype=np.int64)
    return k[m > 0], m[m > 0]


def bootstrap_selection_frequency(
    n_selected: np.ndarray,
    n_shown: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """Mean per-image selection frequency, resampling images and, within each image, its workers.

    Images are drawn with replacement with their SFs shrunk to the between-image spread
    (`shrunk_selection_frequencies`); an image's m workers resampled with replacement then give a
    Binomial(m, SF) count, and c copies of images with the same (k, m) sum to Binomial(c·m, SF):
    one multinomial draw over the distinct (k, m) pairs and one binomial per pair.
    """
    k, m = _judged(n_selected, n_shown)
    n = k.size
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    groups, group_sf, counts, worker_rng = _two_stage_draws(k, m, resamples, seed)
    draws = [(worker_rng.binomial(c * groups[:, 1], group_sf) / groups[:, 1]).sum(axis=1) / n for c in counts]
    return _percentile_estimate((k / m).mean(), np.concatenate(draws), n, level)

def _binomial_tail(m: np.ndarray, p: np.ndarray, threshold: float) -> np.ndarray:
    """P(Binomial(m, p) / m >= threshold) per (m, p) pair (exact; m is a number of workers)."""
    tails = np.zeros(m.size)
    for g, (trials, prob) in enumerate(zip(m.tolist(), p.tolist(), strict=True)):
        first = math.ceil(threshold * trials - 1e-9)
        tails[g] = sum(math.comb(trials, j) * prob**j * (1 - prob) ** (trials - j) for j in range(first, trials + 1))
    return tails


def bootstrap_share_at_least(
    n_selected: np.ndarray,
    n_shown: np.ndarray,
    threshold: float,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """Share of images whose SF is >= threshold, resampling images and, within each image, its workers.

    As bootstrap_selection_frequency; of the c copies of an image in a resample, the number still at
    or above the threshold once its workers are resampled is Binomial(c, q), q = P(Binomial(m, SF)/m
    >= threshold). The draws are centred on the observed share (thresholding a resampled SF shifts
    their mean).
    """
    k, m = _judged(n_selected, n_shown)
    n = k.size
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    groups, group_sf, counts, worker_rng = _two_stage_draws(k, m, resamples, seed)
    tail = _binomial_tail(groups[:, 1], group_sf, threshold)
    draws = np.concatenate([worker_rng.binomial(c, tail).sum(axis=1) / n for c in counts])
    value = float((k >= threshold * m - 1e-9).mean())
    return _percentile_estimate(value, np.clip(draws - draws.mean() + value, 0.0, 1.0), n, level)
