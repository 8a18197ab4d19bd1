"""Bulk writes without building model instances (Django's bulk_create costs ~80 us a row in Python)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


def insert_ignoring_conflicts(
    model: type[Model], columns: list[str], rows: list[tuple], json_columns: frozenset | set = frozenset()
) -> None:
    """Multi-row INSERT ... ON CONFLICT DO NOTHING: bulk_create without building model instances.

    Values must already be in database form (ids, booleans, JSON text for `json_columns`). Each
    statement stays under SQLite's 999-parameter limit on SQLite.
    """
    quote = connection.ops.quote_name
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    row_marks = "(" + ", ".join(f"%s{cast}" if column in json_columns else "%s" for column in columns) + ")"
    per_statement = max(1, (999 if connection.vendor == "sqlite" else 20_000) // len(columns))
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(map(quote, columns))}) VALUES "  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            params = [value for row in chunk for value in row]
            cursor.execute(head + ", ".join([row_marks] * len(chunk)) + " ON CONFLICT DO NOTHING", params)
