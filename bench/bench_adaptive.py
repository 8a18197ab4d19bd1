"""Adaptive redundancy (tasks.adaptive) against fixed redundancy: judgments spent, decisions kept.

Simulation (default): simulated annotators with a known truth answer every item `--max` times, as
`simulate_annotators` does (accuracy 0.9 on the true label, noise 0.05 plus the model score on the
others, so labels a model finds plausible look like real objects). Each item then gets answers one
by one from `--min` on, while tasks.adaptive calls it undecided, up to `--max`; its decisions are
compared with those all `--max` answers give (analytics.aggregation: categorise with sf_ratio 0.5,
aggregate_classify). CONTAINS asks per (image, label) pair, as top_up does.

Replay: `--replay FILE.jsonl --task classify|contains` reads recorded answers (the import_responses
formats; CONTAINS lines need `original_label`), in file order, and replays them the same way: the
"full" result uses every answer of the file. CLASSIFY offers, per image, the labels of an optional
`offered` field (written by --dump), else the labels any answer selected.

    .venv/bin/python bench/bench_adaptive.py [--images 6000] [--alphas 0,0.01,0.05,0.1] [--dump FILE]
    .venv/bin/python bench/bench_adaptive.py --replay FILE.jsonl --task classify [--alpha 0.05]

The last line is `judgments_saved=<fraction> agreement=<fraction>` at `--alpha` (agreement: images
whose every decision of the task is the same as with all answers).
"""

import argparse
import json
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.aggregation import ClassifyAnswer, aggregate_classify, categorise  # noqa: E402
from tasks.adaptive import AdaptiveSettings, classify_decided, pairs_to_ask  # noqa: E402

ACCURACY, NOISE = 0.9, 0.05  # tasks.simulators.annotators.Behaviour's defaults
MISLABELED_SHARE = 0.1
OTHER_CANDIDATES = 4
SF_RATIO = 0.5


@dataclass
class Outcome:
    spent: int
    full: int
    same: bool


# --- simulated data ------------------------------------------------------------------------------------


def model_scores(labels: list[int], rng: random.Random) -> dict[int, float]:
    """A model's softmax over an image's candidates, as the Predictions simulate_annotators reads.

    The true label (first) takes a Beta(4, 1.5) share (mean 0.73); the rest is split among the
    other candidates by a Dirichlet(0.5) draw, so one of them is sometimes a plausible second object.
    """
    top = rng.betavariate(4, 1.5)
    shares = [rng.gammavariate(0.5, 1.0) for _ in labels[1:]]
    total = sum(shares) or 1.0
    others = zip(labels[1:], shares, strict=True)
    return {labels[0]: top, **{label: (1 - top) * share / total for label, share in others}}


def simulated_image(number: int, rng: random.Random) -> dict:
    """Original label, true label and candidate labels with their model scores."""
    base = number % 100 * 10  # taxonomy indices 0..999, as import_responses wants them
    truth = base
    original = base + 1 if rng.random() < MISLABELED_SHARE else truth
    others = [base + offset for offset in range(1 if original != truth else 2, 2 + OTHER_CANDIDATES)]
    scores = model_scores([truth, *others], rng)
    return {"image": f"sim_{number:06d}", "original": original, "truth": truth, "scores": scores}


def p_select(label: int, image: dict) -> float:
    if label == image["truth"]:
        return ACCURACY
    return min(ACCURACY, NOISE + image["scores"][label])


def contains_lines(image: dict, answers: int, rng: random.Random) -> list[dict]:
    labels = sorted(image["scores"])
    return [
        {"image": image["image"], "label": label, "original_label": image["original"], "worker": f"W{w}",
         "selected": rng.random() < p_select(label, image)}
        for w in range(answers) for label in labels
    ]


def classify_lines(image: dict, answers: int, rng: random.Random) -> list[dict]:
    """As tasks.simulators.annotators.classify_answer, offering the original and the 3 best-scored labels."""
    best = sorted((label for label in image["scores"] if label != image["original"]),
                  key=lambda label: -image["scores"][label])[:3]
    offered = sorted({image["original"], *best})
    lines = []
    for w in range(answers):
        chances = {label: p_select(label, image) for label in offered}
        selected = [label for label in offered if rng.random() < chances[label]]
        if not selected:
            selected = [max(offered, key=lambda label: (chances[label], -label))]
        if image["truth"] in selected and rng.random() < ACCURACY:
            main = image["truth"]
        else:
            main = max(selected, key=lambda label: (image["scores"][label], -label))
        lines.append({"image": image["image"], "original_label": image["original"], "worker": f"W{w}",
                      "selected": sorted(selected), "main": main, "offered": offered})
    return lines


def simulated_lines(task: str, images: int, answers: int, seed: int) -> list[dict]:
    rng = random.Random(f"{seed}:{task}")
    make = contains_lines if task == "contains" else classify_lines
    return [line for number in range(images) for line in make(simulated_image(number, rng), answers, rng)]


# --- replaying answers through the rules ---------------------------------------------------------------


def contains_items(lines: list[dict]) -> dict[str, tuple[int, dict[int, list[bool]]]]:
    """image → (original label, label → answers in file order)."""
    items: dict[str, tuple[int, dict[int, list[bool]]]] = {}
    for number, line in enumerate(lines, 1):
        if line.get("original_label") is None:
            raise SystemExit(f"line {number}: CONTAINS replay needs each line's original_label")
        _, streams = items.setdefault(line["image"], (line["original_label"], defaultdict(list)))
        streams[line["label"]].append(bool(line["selected"]))
    return items


def _counts(streams: dict[int, list[bool]], used: dict[int, int]) -> dict[int, tuple[int, int]]:
    return {label: (sum(streams[label][:n]), n) for label, n in used.items() if n}


def replay_contains(original: int, streams: dict[int, list[bool]], settings: AdaptiveSettings, step: int) -> Outcome:
    used = {label: min(settings.min_assignments, len(answers)) for label, answers in streams.items()}
    full_counts = _counts(streams, {label: len(answers) for label, answers in streams.items()})
    if original not in full_counts:
        return Outcome(sum(used.values()), sum(len(a) for a in streams.values()), True)
    while True:
        ask = pairs_to_ask(original, _counts(streams, used), settings, SF_RATIO)
        added = 0
        for label in ask:
            more = min(step, len(streams[label]) - used[label])
            used[label] += more
            added += more
        if not added:
            break
    stopped = _contains_decisions(original, _counts(streams, used))
    full = _contains_decisions(original, full_counts)
    return Outcome(sum(used.values()), sum(full_counts[label][1] for label in full_counts), stopped == full)


def _contains_decisions(original: int, counts: dict[int, tuple[int, int]]) -> tuple[str, frozenset[int]]:
    """The image category and its set of confident labels (their order by SF is no decision)."""
    category, confident = categorise(original, counts, SF_RATIO, 1)
    return category, frozenset(confident)


def classify_items(lines: list[dict]) -> dict[str, tuple[int | None, list[int], list[tuple[tuple[int, ...], int]]]]:
    """image → (original label, offered labels, answers in file order)."""
    items: dict = {}
    for line in lines:
        _, offered, answers = items.setdefault(line["image"], (line.get("original_label"), set(), []))
        offered.update(line.get("offered") or line["selected"])
        answers.append((tuple(line["selected"]), line["main"]))
    return {image: (original, sorted(offered), answers) for image, (original, offered, answers) in items.items()}


def _classify_decisions(answers: list, original: int | None) -> tuple[int, int]:
    aggregate = aggregate_classify([ClassifyAnswer(w, selected, main) for w, (selected, main) in enumerate(answers)],
                                   original)
    return aggregate.num_objects, aggregate.main_label


def replay_classify(original: int | None, offered: list[int], answers: list, settings: AdaptiveSettings,
                    step: int) -> Outcome:
    used = min(settings.min_assignments, len(answers))
    while used < len(answers) and not classify_decided(answers[:used], offered, settings):
        used = min(used + step, len(answers))
    same = _classify_decisions(answers[:used], original) == _classify_decisions(answers, original)
    return Outcome(used, len(answers), same)


def run(task: str, lines: list[dict], settings: AdaptiveSettings, step: int) -> tuple[int, int, int, int]:
    """(judgments spent, judgments of the full answers, images, images with the same decisions)."""
    if task == "contains":
        outcomes = [replay_contains(o, s, settings, step) for o, s in contains_items(lines).values()]
    else:
        outcomes = [replay_classify(o, f, a, settings, step) for o, f, a in classify_items(lines).values()]
    return (sum(o.spent for o in outcomes), sum(o.full for o in outcomes), len(outcomes),
            sum(o.same for o in outcomes))


def report(task: str, lines: list[dict], args: argparse.Namespace) -> tuple[int, int, int, int]:
    """Print one row per alpha; returns run()'s figures at --alpha."""
    chosen = (0, 0, 0, 0)
    for alpha in sorted({*args.alphas, args.alpha}):
        figures = run(task, lines, AdaptiveSettings(args.min, args.max, alpha), args.step)
        spent, full, images, same = figures
        print(f"{task:8s} alpha={alpha:<5g} step={args.step} images={images} judgments={spent}/{full} "
              f"saved={1 - spent / full:.3f} agreement={same / images:.4f}", flush=True)
        if alpha == args.alpha:
            chosen = figures
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=6000)
    parser.add_argument("--min", type=int, default=3)
    parser.add_argument("--max", type=int, default=9)
    parser.add_argument("--step", type=int, default=1, help="answers added to an undecided item per round")
    parser.add_argument("--alpha", type=float, default=0.05, help="the alpha of the last line")
    parser.add_argument("--alphas", default="0,0.01,0.05,0.1", help="alpha values of the table")
    parser.add_argument("--task", choices=["contains", "classify"], help="one task only (required with --replay)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replay", type=Path, help="recorded answers (JSON Lines, import_responses formats)")
    parser.add_argument("--dump", type=Path, help="simulation: write the --task answers here as JSON Lines")
    args = parser.parse_args()
    args.alphas = [float(value) for value in args.alphas.split(",") if value]
    if args.dump and not args.task:
        parser.error("--dump writes one task's answers: add --task classify or --task contains")
    if args.replay:
        if not args.task:
            parser.error("--replay needs --task classify or --task contains")
        with args.replay.open() as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
        totals = report(args.task, lines, args)
    else:
        totals = (0, 0, 0, 0)
        for task in [args.task] if args.task else ["contains", "classify"]:
            lines = simulated_lines(task, args.images, args.max, args.seed)
            if args.dump:
                with args.dump.open("w") as handle:
                    handle.writelines(json.dumps(line) + "\n" for line in lines)
            totals = tuple(a + b for a, b in zip(totals, report(task, lines, args), strict=True))
    spent, full, images, same = totals
    saved, agreement = 1 - spent / full, same / images
    print(f"judgments_saved={saved:.4f} agreement={agreement:.4f}")


if __name__ == "__main__":
    main()
