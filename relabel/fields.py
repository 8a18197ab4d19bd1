"""Model fields any app may use."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import models


class PackedArrayField(models.BinaryField):
    """A short list of numbers stored as the packed bytes of one fixed-size dtype.

    Python sees a list (of ints or floats); the database holds `bytea` / `BLOB`, e.g. big-endian
    int32 (`">i4"`) or float64 (`">f8"`) values one after another. Compared with `jsonb` nothing is
    parsed when a row is written, and a reader that wants arrays can `np.frombuffer` the raw bytes.
    Big-endian, as PostgreSQL's own `int4send` / `float8send` write them, so SQL can produce and
    read the bytes too (the migration from `jsonb` does).
    """

    def __init__(self, *args: Any, dtype: str, **kwargs: Any) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype.kind not in "iuf" or self.dtype.byteorder != ">":
            raise ValueError(f"PackedArrayField needs a big-endian number dtype such as '>i4', not {dtype!r}")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list, dict]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["dtype"] = self.dtype.str
        return name, path, args, kwargs

    def pack(self, values: Any) -> bytes:
        """The stored bytes of a list (or 1-D array) of numbers; refuses what the dtype cannot hold."""
        array = np.asarray(values)
        if array.size == 0:
            return b""
        accepted, what = ("iuf", "numbers") if self.dtype.kind == "f" else ("iu", "integers")
        if array.ndim != 1 or array.dtype.kind not in accepted:
            raise ValueError(f"{self.name}: need a flat list of {what}, got {values!r}")
        if self.dtype.kind in "iu":
            limits = np.iinfo(self.dtype)
            if array.min() < limits.min or array.max() > limits.max:
                raise ValueError(f"{self.name}: {values!r} does not fit in {self.dtype.name}")
        return array.astype(self.dtype).tobytes()

    def unpack(self, data: bytes | memoryview) -> list:
        return np.frombuffer(data, dtype=self.dtype).tolist()

    def from_db_value(self, value: bytes | memoryview | None, expression: Any, connection: Any) -> list | None:
        return None if value is None else self.unpack(value)

    def to_python(self, value: Any) -> list | None:
        if value is None or isinstance(value, list):
            return value
        if isinstance(value, bytes | memoryview):
            return self.unpack(value)
        return np.asarray(value).tolist()

    def get_prep_value(self, value: Any) -> bytes | None:
        if value is None or isinstance(value, bytes | memoryview):  # None, or already packed (b"": the default)
            return value
        return self.pack(value)

    def value_to_string(self, obj: models.Model) -> Any:
        """Serialised (dumpdata) as the list itself, not as base64 bytes."""
        return self.value_from_object(obj)
