"""CPU inference lanes: every batch is done exactly once, whatever happens to the lanes.

The machinery is tested with plain functions (forked lanes inherit them); the real models in lanes are
compared with the single-process path in test_lanes_inference.py.
"""

import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from models_zoo.inference import CPU_BATCH_SIZE, CPU_LANE_BATCH_SIZE, default_config
from models_zoo.lanes import LaneError, batch_spans, can_fork, default_lanes, run_in_lanes

pytestmark = pytest.mark.skipif(not can_fork(), reason="lanes need the fork start method")


def _square_span(span: tuple[int, int]) -> tuple[int, list[int], int]:
    return span[0], [position * position for position in range(*span)], os.getpid()


def _kills_itself_once(marker: Path):
    """A lane that takes span (4, 6) first kills itself (SIGKILL: no cleanup, as the OOM killer would)."""

    def work(span: tuple[int, int]) -> tuple[int, list[int], int]:
        if span == (4, 6):
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return _square_span(span)

    return work


def _results(work, count: int = 20, batch: int = 2, lanes: int = 2) -> list[tuple[int, list[int], int]]:
    return list(run_in_lanes(work, batch_spans(count, batch), lanes))


def test_spans_cover_the_positions_with_a_short_last_batch():
    assert batch_spans(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert batch_spans(0, 2) == []


def test_every_span_runs_once_in_forked_lanes():
    results = _results(_square_span)
    assert sorted(start for start, _, _ in results) == list(range(0, 20, 2))
    squares = [value for _, values, _ in sorted(results) for value in values]
    assert squares == [position * position for position in range(20)]
    pids = {pid for _, _, pid in results}
    assert os.getpid() not in pids
    assert len(pids) == 2
    assert multiprocessing.active_children() == []


def test_a_killed_lanes_batch_is_done_by_another_lane(tmp_path, caplog):
    results = _results(_kills_itself_once(tmp_path / "killed"))
    assert (tmp_path / "killed").exists()
    assert sorted(start for start, _, _ in results) == list(range(0, 20, 2))
    assert "died" in caplog.text
    assert multiprocessing.active_children() == []


def test_an_error_in_a_lane_is_raised_with_its_traceback():
    def work(span):
        if span == (2, 4):
            raise ValueError("bad batch")
        return _square_span(span)

    with pytest.raises(LaneError, match=r"(?s)batch \(2, 4\).*ValueError: bad batch"):
        _results(work)
    assert multiprocessing.active_children() == []


def test_lanes_that_keep_dying_give_up():
    def work(span):
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(LaneError, match="kept dying"):
        _results(work)
    assert multiprocessing.active_children() == []


def test_stopping_early_ends_the_lanes():
    results = run_in_lanes(_square_span, batch_spans(100, 2), 2)
    next(results)
    results.close()
    assert multiprocessing.active_children() == []


def test_lanes_end_when_their_parent_dies(tmp_path):
    """A lane waiting for work exits when the process that forked it is killed (no orphans)."""
    pids = tmp_path / "pids"

    def parent() -> None:
        def work(span):
            with pids.open("a") as handle:
                handle.write(f"{os.getpid()}\n")
            return span

        for _ in run_in_lanes(work, batch_spans(8, 2), 2):
            os.kill(os.getpid(), signal.SIGKILL)

    process = multiprocessing.get_context("fork").Process(target=parent)
    process.start()
    process.join(timeout=30)
    lane_pids = {int(line) for line in pids.read_text().split()}
    assert lane_pids
    for pid in lane_pids:
        _wait_gone(pid)


def _wait_gone(pid: int, timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return  # exited, waiting for its (dead) parent's reaper
        time.sleep(0.05)
    pytest.fail(f"lane {pid} outlived its parent")


def test_cpu_runs_one_process_unless_lanes_are_asked_for():
    single = default_config("cpu")
    assert (single.lanes, single.batch_size) == (1, CPU_BATCH_SIZE)
    per_core = default_config("cpu", lanes=0)
    assert per_core.lanes == default_lanes(0) == (os.cpu_count() or 1)
    assert per_core.batch_size == (CPU_LANE_BATCH_SIZE if per_core.lanes > 1 else CPU_BATCH_SIZE)
    assert default_config("cpu", lanes=2).batch_size == CPU_LANE_BATCH_SIZE
    assert default_config("cpu", lanes=3, batch_size=8).batch_size == 8
    assert default_config("cpu", workers=2).lanes == 1  # loader processes: one lane
