"""An offline simulator's state: one JSON document on disk, rewritten atomically after every change."""

import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class StateFile:
    """Serialises access with a lock; `change()` yields the state and saves it if the block succeeds.

    `empty` makes the state of a new simulator; keys it lacks in an older file are filled from it.
    """

    def __init__(self, path: Path, empty: Callable[[], dict]) -> None:
        self.path = Path(path)
        self._empty = empty
        self._lock = threading.Lock()

    def load(self) -> dict:
        if not self.path.exists():
            return self._empty()
        return {**self._empty(), **json.loads(self.path.read_text())}

    def save(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(state, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def change(self) -> Iterator[dict]:
        with self._lock:
            state = self.load()
            yield state
            self.save(state)

    @contextmanager
    def read(self) -> Iterator[dict]:
        with self._lock:
            yield self.load()
