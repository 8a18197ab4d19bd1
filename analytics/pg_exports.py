"""PostgreSQL fast path of the large exports (SF, CONTAINS judgments, CLASSIFY responses).

PostgreSQL writes every JSONL/CSV line itself, and one query returns a whole keyset page of lines
as a single text value (string_agg over the page's ORDER BY ... LIMIT subquery, which feeds the
aggregate in order), so Python handles one value per page instead of one object per row. Values
shared by many rows (an image's written id, a worker's written name) are computed once, in a LATERAL
subquery that PostgreSQL memoises or in the page of images. The whole export reads one REPEATABLE READ
snapshot, with JIT off (it would compile every page's query again) and a
work_mem large enough for the planner to memoise image lookups.

The bytes are those of the pure-Python path in analytics/exports.py (tests compare the two):
strings are escaped by to_json (the same escapes as json.encoder.encode_basestring), CSV fields are
quoted (and formula-neutralised) by the same rule, `sf` is the same half-up rounding to 4 decimals, and
worker pseudonyms are tasks.privacy.public_worker_id's own, computed in Python and loaded into a
temporary table of (worker id, pseudonym): no key and nothing derived from one is ever in a query.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction

from analytics.models import SelectionFrequency
from annotation.models import ClassifyResponse, ContainsJudgment, Image, LabelClass
from relabel.csv_safety import safe_cell_sql
from tasks.models import Assignment, Worker
from tasks.privacy import public_worker_id

PAGE_ROWS = 20_000  # judgments or responses per query
PAGE_IMAGES = 2_000  # images per SF query (about ten SF rows each, sorted in work_mem)
WORKERS_TABLE = "relabel_export_workers"  # temporary, dropped at the end of the export's transaction


@dataclass(frozen=True)
class Column:
    """One exported field: its name, a SQL expression, and how to write it.

    kind: text, int, bool, int_list (jsonb), sf (sf_sql's text) or written (text already written by value_sql).
    Only a nullable column pays for a NULL check.
    """

    name: str
    sql: str
    kind: str
    nullable: bool = False


def _json_value(column: Column) -> str:
    x = column.sql
    if column.nullable:
        return f"COALESCE({_json_value(Column(column.name, x, column.kind))}, 'null')"
    return {
        "text": f"to_json({x})::text",
        "int": f"({x})::text",
        "bool": f"CASE WHEN {x} THEN 'true' ELSE 'false' END",
        "int_list": f"({x})::text",
        "sf": x,
        "written": x,
    }[column.kind]


def _csv_value(column: Column) -> str:
    x = column.sql
    if column.nullable:
        return f"COALESCE({_csv_value(Column(column.name, x, column.kind))}, '')"
    return {
        "text": _csv_quoted(safe_cell_sql(x)),
        "int": f"({x})::text",
        "bool": f"CASE WHEN {x} THEN 'True' ELSE 'False' END",
        "int_list": f"""CASE WHEN strpos(({x})::text, ',') > 0 THEN '"' || replace(({x})::text, ' ', '') || '"' """
                    f"ELSE ({x})::text END",
        "sf": x,
        "written": x,
    }[column.kind]


def _csv_quoted(x: str) -> str:
    return f"""CASE WHEN {x} ~ E'[,"\\r\\n]' THEN '"' || replace({x}, '"', '""') || '"' ELSE {x} END"""


def value_sql(column: Column, fmt: str) -> str:
    """A SQL expression for one field as written in `fmt`."""
    return _csv_value(column) if fmt == "csv" else _json_value(column)


def line_sql(columns: list[Column], fmt: str) -> str:
    """A SQL expression for one output line (with its newline) in `fmt`: one concat() of literals and fields."""
    opening, separator, closing = ("", ",", "\n") if fmt == "csv" else ("{", ", ", "}\n")
    pieces: list[tuple[bool, str]] = []  # (is a literal, text)
    for i, column in enumerate(columns):
        name = "" if fmt == "csv" else f'"{column.name}": '
        pieces += [(True, (separator if i else opening) + name), (False, value_sql(column, fmt))]
    pieces.append((True, closing))
    arguments, literal = [], ""
    for is_literal, text in pieces:
        if is_literal:
            literal += text
            continue
        if literal:
            arguments.append(_literal(literal))
        arguments.append(text)
        literal = ""
    return f"concat({', '.join([*arguments, _literal(literal)])})"


def _literal(text: str) -> str:
    return "E'" + text.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n") + "'"


def sf_sql(k: str, n: str) -> str:
    """The text of analytics.exports.sf_value(k, n): k/n rounded half-up to 4 decimals, as Python's repr."""
    q = f"((({k})::bigint * 20000 + ({n})) / (2 * ({n})))"
    return (f"CASE WHEN ({n}) = 0 THEN '0.0' WHEN mod({q}, 10000) = 0 THEN ({q} / 10000)::text || '.0' "
            f"ELSE ({q}::float8 / 10000)::text END")


def worker_names(raw: bool) -> tuple[list[int], list[str]]:
    """Every worker's id and exported name (pseudonym, or raw id if `raw`) as two aligned lists.

    Pseudonyms are computed here in Python (tasks.privacy) and joined in SQL, so that no key, nor
    anything derived from one, is ever part of a query's text or parameters (pg_stat_activity and the
    server's logs show both). A few thousand workers cost a few milliseconds.
    """
    ids, names = [], []
    workers = Worker.objects.order_by("pk").values_list("pk", "external_id")
    for pk, external_id in workers.iterator(chunk_size=PAGE_ROWS):
        ids.append(pk)
        names.append(public_worker_id(external_id, raw=raw))
    return ids, names


def _load_worker_names(cursor, raw: bool) -> None:
    """Fill the transaction's temporary table of written worker names (pseudonyms only, or raw ids)."""
    cursor.execute(f"DROP TABLE IF EXISTS {WORKERS_TABLE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {WORKERS_TABLE} (id bigint PRIMARY KEY, name text NOT NULL) ON COMMIT DROP")
    cursor.execute(f"INSERT INTO {WORKERS_TABLE} SELECT * FROM unnest(%s::bigint[], %s::text[])",  # noqa: S608
                   list(worker_names(raw)))
    cursor.execute(f"ANALYZE {WORKERS_TABLE}")


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _sf_query(fmt: str) -> str:
    # An image's id is written once for its ten or so rows.
    image = value_sql(Column("image", "external_id", "text"), fmt)
    columns = [Column("image", "i.image", "written"), Column("label", "l.index", "int"),
               Column("n_selected", "sf.n_selected", "int"), Column("n_shown", "sf.n_shown", "int"),
               Column("sf", sf_sql("sf.n_selected", "sf.n_shown"), "sf")]
    return (
        f"WITH page AS MATERIALIZED (SELECT id, {image} AS image FROM {_table(Image)} "  # noqa: S608 - no user input
        "WHERE dataset_id = %(dataset)s AND id > %(after)s ORDER BY id LIMIT %(limit)s) "
        f"SELECT (SELECT string_agg(line, '') FROM (SELECT {line_sql(columns, fmt)} AS line FROM page i "
        f"JOIN {_table(SelectionFrequency)} sf ON sf.image_id = i.id JOIN {_table(LabelClass)} l ON l.id = sf.label_id "
        "ORDER BY sf.image_id, sf.label_id) lines), (SELECT max(id) FROM page)"
    )


def _response_query(model, joins: str, columns: list[Column], fmt: str) -> str:
    """One page of CONTAINS judgments or CLASSIFY responses (`r`) in id order, with `i` the image (its
    written id `i.image`) and `w.worker` the written worker name, looked up once per worker (Memoize) in
    the export's temporary table of worker_names()."""
    image = value_sql(Column("image", "external_id", "text"), fmt)
    worker = value_sql(Column("worker", "name", "text"), fmt)
    columns = [Column("image", "i.image", "written"), *columns]
    columns.insert(2, Column("worker", "w.worker", "written"))
    return (
        f"SELECT string_agg(line, ''), max(id) FROM (SELECT {line_sql(columns, fmt)} AS line, r.id "  # noqa: S608
        f"FROM {_table(model)} r JOIN LATERAL (SELECT {image} AS image, original_label_id FROM {_table(Image)} "
        "WHERE id = r.image_id AND dataset_id = %(dataset)s OFFSET 0) i ON true "
        f"JOIN {_table(Assignment)} a ON a.id = r.assignment_id "
        f"JOIN LATERAL (SELECT {worker} AS worker FROM {WORKERS_TABLE} WHERE id = a.worker_id OFFSET 0) w ON true "
        f"{joins} WHERE r.id > %(after)s ORDER BY r.id LIMIT %(limit)s) lines"
    )


def _contains_query(fmt: str) -> str:
    columns = [Column("label", "l.index", "int"), Column("selected", "r.selected", "bool")]
    joins = f"JOIN {_table(LabelClass)} l ON l.id = r.label_id"
    return _response_query(ContainsJudgment, joins, columns, fmt)


def _classify_response_query(fmt: str) -> str:
    columns = [Column("original_label", "o.index", "int", nullable=True), Column("selected", "r.selected", "int_list"),
               Column("main", "m.index", "int")]
    joins = (f"LEFT JOIN {_table(LabelClass)} o ON o.id = i.original_label_id "
             f"JOIN {_table(LabelClass)} m ON m.id = r.main_label_id")
    return _response_query(ClassifyResponse, joins, columns, fmt)


QUERIES = {  # what: (the page query for a format, rows or images per page, whether it names workers)
    "sf": lambda fmt: (_sf_query(fmt), PAGE_IMAGES, False),
    "contains": lambda fmt: (_contains_query(fmt), PAGE_ROWS, True),
    "classify_responses": lambda fmt: (_classify_response_query(fmt), PAGE_ROWS, True),
}


def stream(dataset_id: int, what: str, fmt: str, raw_worker_ids: bool) -> Iterator[str]:
    """The lines of export `what` (a key of QUERIES), one text block per keyset page; no header."""
    query, limit, names_workers = QUERIES[what](fmt)
    params = {"dataset": dataset_id, "limit": limit, "after": 0}
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # not READ ONLY: a temp table
        if names_workers:  # read in the export's snapshot
            _load_worker_names(cursor, raw_worker_ids)
        # Without JIT compiling every page; with room for PostgreSQL to memoise image lookups.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        while True:
            cursor.execute(query, params)
            block, params["after"] = cursor.fetchone()
            if params["after"] is None:
                return
            if block:
                yield block
