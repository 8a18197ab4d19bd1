"""relabel.pg_copy: rows built by numpy that PostgreSQL's binary COPY reads as meant."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection

from relabel import pg_copy

MOMENT = datetime(2026, 12, 7, 13, 1, 2, 345678, tzinfo=UTC)


def test_a_timestamptz_is_microseconds_since_2000_big_endian():
    assert pg_copy.timestamptz(pg_copy.POSTGRES_EPOCH + timedelta(microseconds=1)) == b"\0" * 7 + b"\x01"
    assert pg_copy.timestamptz(pg_copy.POSTGRES_EPOCH - timedelta(microseconds=1)) == b"\xff" * 8


def test_each_row_is_its_field_count_then_each_fields_size_and_value():
    rows = pg_copy.binary_rows([np.array([5], dtype=">i8"), b"ab", np.array([[1, 2]], dtype=">i2"),
                                np.zeros((1, 0), dtype=">f8")], 1)
    assert rows == (b"\0\x04" + b"\0\0\0\x08" + b"\0" * 7 + b"\x05" + b"\0\0\0\x02ab"
                    + b"\0\0\0\x04\0\x01\0\x02" + b"\0\0\0\0")


def test_it_refuses_columns_of_another_length_or_byte_order():
    with pytest.raises(ValueError, match="needs 2 big-endian values"):
        pg_copy.binary_rows([np.array([1, 2, 3], dtype=">i8")], 2)
    with pytest.raises(ValueError, match="needs 2 big-endian values"):
        pg_copy.binary_rows([np.array([1, 2], dtype="<i8")], 2)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: runs in the PostgreSQL pass")
def test_postgresql_reads_the_rows_as_meant():
    labels = np.array([[1, 2, 3], [-4, 5, 2**31 - 1]], dtype=">i4")
    columns = [np.array([5, 2**40], dtype=">i8"), "modèle".encode(), labels, np.zeros((2, 0), dtype=">f8"),
               pg_copy.timestamptz(MOMENT), b""]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copied (a bigint, b varchar, c bytea, d bytea, e timestamptz, f text)")
        with cursor.cursor.copy("COPY copied FROM STDIN (FORMAT binary)") as copy:
            copy.write(pg_copy.SIGNATURE)
            copy.write(pg_copy.binary_rows(columns, 2))
            copy.write(pg_copy.TRAILER)
        cursor.execute("SELECT a, b, c, d, e, f FROM copied ORDER BY a")
        rows = cursor.fetchall()
    assert [(a, b, np.frombuffer(c, dtype=">i4").tolist(), bytes(d), e, f) for a, b, c, d, e, f in rows] == [
        (5, "modèle", [1, 2, 3], b"", MOMENT, ""), (2**40, "modèle", [-4, 5, 2**31 - 1], b"", MOMENT, ""),
    ]
