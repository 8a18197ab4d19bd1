"""CPU inference in lanes: one forked process per core, each with one torch thread.

Opt-in (`RELABEL_INFERENCE_LANES` 0 or > 1). The single process of models_zoo.inference cannot overlap
decoding with the forward passes, which take every core with torch's intra-op threads. A lane instead
decodes and forwards its own batches on one core, so one lane's decoding overlaps another's forward
passes and no core waits for a sibling thread. On the 2-core machine this did not pay: two one-thread
lanes forwarded no faster than one process with two threads (intra-op scaling was 1.8-1.95x there, and
two lanes side by side lose 5-10% each), and end to end the lanes were within noise of the single
process (docs/benchmarks.md). They may pay where intra-op threads scale worse (more cores).

The lanes are forked from the process that holds the chunk, after its models are loaded, so they share
the loaded graphs and start in milliseconds; they never touch the database. The parent hands out one
batch at a time to whichever lane is free and yields the results as they come, in completion order
(`BatchOutput.positions` say which images they are). A lane that dies (killed, out of memory) loses only
the batch it held: that batch goes to another lane. An error inside a lane is raised in the parent.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

logger = logging.getLogger(__name__)

Span = tuple[int, int]  # [start, stop) positions of one batch


class LaneError(RuntimeError):
    """Inference in lanes failed: an error inside a lane, or every lane died."""


def can_fork() -> bool:
    """Lanes need fork: not on platforms without it, nor in daemonic processes (Celery's prefork children)."""
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def batch_spans(count: int, batch_size: int) -> list[Span]:
    return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def run_in_lanes(work: Callable[[Span], Any], spans: Sequence[Span], lanes: int) -> Iterator[Any]:
    """Run `work(span)` for every span in `lanes` forked processes and yield the results as they arrive.

    `work` runs in a lane with one torch thread; what it returns must pickle. A lane that dies is
    replaced, up to `lanes` times in all.
    """
    context = multiprocessing.get_context("fork")
    todo: deque[Span] = deque(spans)
    running: dict[Connection, tuple[Any, Span | None]] = {}
    starts_left = 2 * lanes
    try:
        while todo or running:
            while todo and len(running) < lanes and starts_left:
                connection, process = _start_lane(context, work, list(running))
                running[connection] = (process, None)
                starts_left -= 1
                _hand_out(connection, running, todo)
            if not running:
                raise LaneError(f"inference lanes kept dying: {len(todo)} batches left undone")
            ready = wait(list(running) + [process.sentinel for process, _ in running.values()])
            for connection in _lanes_ready(ready, running):
                result = _receive(connection, running, todo)
                if result is not None:
                    _hand_out(connection, running, todo)
                    yield result[0]
    finally:
        _stop(running)


def _lanes_ready(ready: list, running: dict) -> list[Connection]:
    """The lanes that sent something or exited (a dead lane's connection reports end of file)."""
    sentinels = {process.sentinel: connection for connection, (process, _) in running.items()}
    connections = {sentinels.get(item, item) for item in ready}
    return [connection for connection in running if connection in connections]


def _start_lane(context: Any, work: Callable[[Span], Any], siblings: list[Connection]) -> tuple[Connection, Any]:
    parent_end, lane_end = context.Pipe()
    process = context.Process(target=_lane, args=(lane_end, work, [parent_end, *siblings]), daemon=True)
    process.start()
    lane_end.close()
    return parent_end, process


def _hand_out(connection: Connection, running: dict, todo: deque[Span]) -> None:
    """Give the lane its next batch, or tell it to stop."""
    process, _ = running[connection]
    span = todo.popleft() if todo else None
    running[connection] = (process, span)
    try:
        connection.send(span)
    except OSError:  # the lane died since its last result
        _lane_died(connection, running, todo)
        return
    if span is None:
        del running[connection]
        connection.close()
        process.join()


def _receive(connection: Connection, running: dict, todo: deque[Span]) -> tuple[Any] | None:
    """The lane's result as a 1-tuple; None when the lane died (its batch goes back on the list)."""
    try:
        status, payload = connection.recv()
    except (EOFError, OSError):
        _lane_died(connection, running, todo)
        return None
    if status == "error":
        raise LaneError(f"inference lane failed on batch {running[connection][1]}:\n{payload}")
    return (payload,)


def _lane_died(connection: Connection, running: dict, todo: deque[Span]) -> None:
    process, span = running.pop(connection)
    connection.close()
    process.join()
    logger.warning("inference lane %s died (exit code %s); its batch %s goes to another lane",
                   process.pid, process.exitcode, span)
    if span is not None:
        todo.appendleft(span)


def _stop(running: dict) -> None:
    for connection, (process, _) in running.items():
        connection.close()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()


def _lane(connection: Connection, work: Callable[[Span], Any], parent_ends: list[Connection]) -> None:
    """A lane's loop: one torch thread; run each span received until told to stop or the parent is gone."""
    import torch

    for end in parent_ends:  # inherited from the fork: holding them would hide the parent's exit
        end.close()
    torch.set_num_threads(1)
    while True:
        try:
            span = connection.recv()
        except (EOFError, OSError):
            return
        if span is None:
            return
        try:
            connection.send(("ok", work(span)))
        except Exception:  # reported to the parent, which raises it
            connection.send(("error", traceback.format_exc()))
            return


def default_lanes(setting: int) -> int:
    """RELABEL_INFERENCE_LANES: 0 means one lane per core."""
    return setting if setting > 0 else (os.cpu_count() or 1)
