"""Rows for PostgreSQL's `COPY ... FROM STDIN (FORMAT binary)`, built by numpy a block at a time.

In the binary format the server parses nothing: each field is a length and the value's binary form
(big-endian). Rows whose fields all have a fixed size per block are one numpy structured array, so
encoding 100,000 rows takes milliseconds instead of a Python loop over rows and values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # the format's signature, no flags, no header extension
TRAILER = b"\xff\xff"
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

Column = np.ndarray | bytes


def timestamptz(moment: datetime) -> bytes:
    """The binary form of a `timestamptz`: microseconds since 2000-01-01 UTC, big-endian int64."""
    delta = moment - POSTGRES_EPOCH
    microseconds = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return microseconds.to_bytes(8, "big", signed=True)


def binary_rows(columns: Sequence[Column], count: int) -> bytes:
    """`count` rows in COPY's binary format (without the signature and trailer).

    Each column is one field of every row: either one `bytes` value shared by all rows (its binary
    form: UTF-8 text, `timestamptz(...)`, ...) or an array of `count` values whose big-endian dtype
    is the wire form: shape (count,) for a scalar column (`>i8` for bigint), shape (count, k) for a
    `bytea` holding k packed numbers (k may be 0: an empty `bytea`).
    """
    fields: list[tuple] = [("fields", ">i2")]
    for number, column in enumerate(columns):
        value = _value_dtype(column, count)
        fields.append((f"size{number}", ">i4"))
        if value.itemsize:
            fields.append((f"value{number}", value))
    rows = np.empty(count, dtype=fields)
    rows["fields"] = len(columns)
    for number, column in enumerate(columns):
        size = _value_dtype(column, count).itemsize
        rows[f"size{number}"] = size
        if size:
            rows[f"value{number}"] = np.frombuffer(column, dtype=f"V{size}")[0] if isinstance(column, bytes) else column
    return rows.tobytes()


def _value_dtype(column: Column, count: int) -> np.dtype:
    if isinstance(column, bytes):
        return np.dtype(f"V{len(column)}") if column else np.dtype([])
    if column.shape[0] != count or column.ndim > 2 or column.dtype.byteorder not in ">|":
        raise ValueError(f"a column needs {count} big-endian values, got {column.dtype} {column.shape}")
    return np.dtype((column.dtype, column.shape[1:])) if column.ndim == 2 else column.dtype
