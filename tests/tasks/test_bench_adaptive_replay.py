"""bench/bench_adaptive.py: the simulation's answers, written with --dump, replay to the same figures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = [sys.executable, str(ROOT / "bench" / "bench_adaptive.py")]


def run(*args: str) -> list[str]:
    done = subprocess.run([*BENCH, *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


@pytest.mark.parametrize("task", ["classify", "contains"])
def test_it_replays_recorded_answers_through_the_same_rules(tmp_path, task):
    answers = tmp_path / f"{task}.jsonl"
    simulated = run("--images", "150", "--task", task, "--alphas", "0", "--dump", str(answers))
    first = json.loads(answers.read_text().splitlines()[0])
    assert {"image", "worker", "selected", "original_label"} <= set(first)

    replayed = run("--replay", str(answers), "--task", task, "--alphas", "0")

    assert replayed == simulated
    assert replayed[0].endswith("agreement=1.0000")  # alpha 0: stops only when nothing can change
    saved, agreement = (float(part.split("=")[1]) for part in replayed[-1].split())
    assert replayed[-1].startswith("judgments_saved=") and 0 < saved < 1 and 0.9 <= agreement <= 1


def test_it_says_what_a_contains_replay_needs(tmp_path):
    answers = tmp_path / "contains.jsonl"
    answers.write_text(json.dumps({"image": "a.jpg", "label": 3, "worker": "W1", "selected": True}) + "\n")
    done = subprocess.run([*BENCH, "--replay", str(answers), "--task", "contains"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode != 0 and "line 1: CONTAINS replay needs each line's original_label" in done.stderr
