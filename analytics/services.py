"""Aggregation over the database: selection frequencies, image categories, CLASSIFY results.

Selection frequencies are counted in SQL (one GROUP BY with a FILTER) so millions of judgments
aggregate in seconds; on PostgreSQL only the pairs that changed are written and the image categories
are computed in SQL too (elsewhere by `analytics.aggregation.categorise`, with identical results).
CLASSIFY aggregates are computed per image by the pure functions of analytics.aggregation.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet

from analytics.aggregation import TIES_SMALLEST, ClassifyAnswer, aggregate_classify, categorise
from analytics.models import ClassifyResult, ImageCategory, SelectionFrequency
from annotation.models import ClassifyResponse, ContainsJudgment, Dataset, Image, LabelClass
from tasks.models import Assignment
from tasks.quality import counted

BULK_SIZE = 5000
SF_LOCK = 0x5F1  # first key of the transaction advisory lock taken while a dataset's SF are replaced


def counted_judgments(dataset: Dataset) -> QuerySet:
    """CONTAINS judgments that count: confirmed, submitted or approved assignments that passed quality control."""
    return ContainsJudgment.objects.filter(counted("assignment__"), image__dataset=dataset)


def counted_classify_responses(dataset: Dataset) -> QuerySet:
    return ClassifyResponse.objects.filter(counted("assignment__"), image__dataset=dataset)


def _sf_counts_sql(dataset: Dataset) -> tuple[str, tuple]:
    """SELECT image_id, label_id, n_selected, n_shown: one GROUP BY with a FILTER over counted judgments.

    The dataset is found through the assignment's batch (a judgment's image always belongs to the
    dataset of its batch), which spares a join of every judgment with its image.
    """
    counts = (
        ContainsJudgment.objects.filter(counted("assignment__"), assignment__hit__batch__dataset=dataset)
        .values("image_id", "label_id")
        .annotate(n_selected=Count("id", filter=Q(selected=True)), n_shown=Count("*"))
        .values_list("image_id", "label_id", "n_selected", "n_shown")
        .order_by()
    )
    return counts.query.sql_with_params()


@transaction.atomic
def aggregate_selection_frequencies(dataset: Dataset) -> int:
    """Replace the dataset's SelectionFrequency rows by fresh counts (one transaction); returns the pair count."""
    if connection.vendor == "postgresql":
        return _replace_sf_postgresql(dataset)
    sql, params = _sf_counts_sql(dataset)
    table = connection.ops.quote_name(SelectionFrequency._meta.db_table)
    SelectionFrequency.objects.filter(image__dataset=dataset).delete()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (image_id, label_id, n_selected, n_shown) {sql}", params)
        return cursor.rowcount


def _counted_assignment_ids(cursor, dataset: Dataset) -> str:
    """The dataset's counted assignment ids as a PostgreSQL array literal '{1,2,...}', built by the server."""
    ids = Assignment.objects.filter(counted(), hit__batch__dataset=dataset).values("id").order_by()
    sql, params = ids.query.sql_with_params()
    cursor.execute(f"SELECT '{{' || coalesce(string_agg(id::text, ','), '') || '}}' FROM ({sql}) ids", params)  # noqa: S608
    return cursor.fetchone()[0]


# Settings for the aggregation transaction on PostgreSQL (SET LOCAL: they end with the outermost
# transaction):
# - jit off: compiling the expressions costs seconds and gains nothing on one scan;
# - work_mem: the GROUP BY and the hash joins hold about 150 bytes per (image, label) pair; with the
#   default 4 MB a million pairs spill to disk in every parallel worker;
# - parallel_tuple_cost: with a large work_mem the planner prices the Gather of the partial counts
#   as if every worker returned every pair and picks one serial scan, which counts 10 M judgments
#   slower than two workers and the leader do (measured in docs/benchmarks.md).
PG_AGGREGATION_SETTINGS = {"jit": "off", "work_mem": "256MB", "parallel_tuple_cost": "0.02"}


def _pg_settings(cursor) -> None:
    for name, value in PG_AGGREGATION_SETTINGS.items():
        cursor.execute(f"SET LOCAL {name} = '{value}'")


def _replace_sf_postgresql(dataset: Dataset) -> int:
    """Count into a temporary table, then write only what changed.

    The counting filters judgments by the dataset's counted assignment ids, sent as one array
    constant: PostgreSQL tests `assignment_id = ANY(...)` with a hash table inside the scan, about
    a third cheaper per judgment than a hash join with assignments, HITs and batches (and with
    few ids it may use the assignment index instead). CREATE TABLE AS may use parallel workers
    (INSERT ... SELECT may not). The fresh counts and the dataset's stored pairs are compared with
    one hash full join into a second temporary table of differences; only those rows are then
    deleted, updated or inserted. An upsert of every pair would probe the unique index once per
    pair (about 10 s for a million pairs) even when nothing changed, so re-aggregating after a few
    new HITs costs little more than the counting.
    """
    table = connection.ops.quote_name(SelectionFrequency._meta.db_table)
    image_table = connection.ops.quote_name(Image._meta.db_table)
    judgment_table = connection.ops.quote_name(ContainsJudgment._meta.db_table)
    with connection.cursor() as cursor:
        # One aggregation of a dataset at a time (until commit): a second one then diffs against
        # the first one's rows instead of inserting the same new pairs.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SF_LOCK, dataset.pk])
        _pg_settings(cursor)
        cursor.execute(
            "CREATE TEMPORARY TABLE relabel_sf_new ON COMMIT DROP AS "  # noqa: S608
            "SELECT image_id, label_id, count(*) FILTER (WHERE selected) AS n_selected, count(*) AS n_shown "
            f"FROM {judgment_table} WHERE assignment_id = ANY(%s::bigint[]) GROUP BY image_id, label_id",
            [_counted_assignment_ids(cursor, dataset)],
        )
        pairs = cursor.rowcount
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {table} sf JOIN {image_table} i ON i.id = sf.image_id "  # noqa: S608
            "WHERE i.dataset_id = %s)",
            [dataset.pk],
        )
        if cursor.fetchone()[0]:
            _apply_sf_diff(cursor, dataset, table, image_table)
        else:  # first build: every pair is new, nothing to compare with
            cursor.execute(
                f"INSERT INTO {table} (image_id, label_id, n_selected, n_shown) "  # noqa: S608
                "SELECT image_id, label_id, n_selected, n_shown FROM relabel_sf_new ORDER BY image_id, label_id"
            )
        # Dropped now, not only at commit: an outer transaction may aggregate again.
        cursor.execute("DROP TABLE relabel_sf_new")
    return pairs


def _apply_sf_diff(cursor, dataset: Dataset, table: str, image_table: str) -> None:
    """Write the differences between relabel_sf_new and the dataset's stored pairs, and only those.

    A difference row has the fresh counts (NULL for a stored pair that no longer exists) and says
    whether its pair is stored (update or delete) or not (insert).
    """
    cursor.execute(
        "CREATE TEMPORARY TABLE relabel_sf_diff ON COMMIT DROP AS "  # noqa: S608
        "SELECT coalesce(n.image_id, old.image_id) AS image_id, coalesce(n.label_id, old.label_id) AS label_id, "
        "old.image_id IS NOT NULL AS stored, n.n_selected, n.n_shown FROM relabel_sf_new n "
        f"FULL JOIN (SELECT sf.* FROM {table} sf JOIN {image_table} i ON i.id = sf.image_id "
        "WHERE i.dataset_id = %s) old ON old.image_id = n.image_id AND old.label_id = n.label_id "
        "WHERE old.image_id IS NULL OR n.image_id IS NULL "
        "OR (old.n_selected, old.n_shown) IS DISTINCT FROM (n.n_selected, n.n_shown)",
        [dataset.pk],
    )
    same_pair = "sf.image_id = d.image_id AND sf.label_id = d.label_id"
    cursor.execute(f"DELETE FROM {table} sf USING relabel_sf_diff d WHERE {same_pair} AND d.n_shown IS NULL")  # noqa: S608
    cursor.execute(
        f"UPDATE {table} sf SET n_selected = d.n_selected, n_shown = d.n_shown FROM relabel_sf_diff d "  # noqa: S608
        f"WHERE {same_pair} AND d.stored AND d.n_shown IS NOT NULL"
    )
    cursor.execute(
        f"INSERT INTO {table} (image_id, label_id, n_selected, n_shown) "  # noqa: S608
        "SELECT image_id, label_id, n_selected, n_shown FROM relabel_sf_diff WHERE NOT stored "
        "ORDER BY image_id, label_id"
    )
    cursor.execute("DROP TABLE relabel_sf_diff")


@dataclass
class CategorySummary:
    counts: Counter = field(default_factory=Counter)
    follow_up: dict[int, list[int]] = field(default_factory=dict)  # image id → label indices to offer

    def counts_text(self) -> str:
        return ", ".join(f"{name} {self.counts[name]}" for name in ImageCategory.Category.values)


def _sf_by_image(dataset: Dataset) -> Iterator[tuple[int, dict[int, tuple[int, int]]]]:
    rows = (
        SelectionFrequency.objects.filter(image__dataset=dataset)
        .order_by("image_id")
        .values_list("image_id", "label__index", "n_selected", "n_shown")
        .iterator(chunk_size=BULK_SIZE)
    )
    for image_id, group in groupby(rows, key=lambda row: row[0]):
        yield image_id, {label: (selected, shown) for _, label, selected, shown in group}


@transaction.atomic
def categorise_images(dataset: Dataset, sf_ratio: float = 0.5, min_workers: int = 5) -> CategorySummary:
    """Store each image's category (easy/mis/fu/amb) from its selection frequencies.

    Images without any selection frequency are `amb`. Returns the counts and, for `fu` images,
    the labels to offer in CLASSIFY. PostgreSQL categorises in SQL (`_categorise_postgresql`),
    other databases with `analytics.aggregation.categorise`; both store the same rows.
    """
    if connection.vendor == "postgresql":
        _categorise_postgresql(dataset, sf_ratio, min_workers)
        return _stored_summary(dataset)
    originals = dict(
        Image.objects.filter(dataset=dataset).values_list("id", "original_label__index").iterator(BULK_SIZE)
    )
    summary = CategorySummary()
    rows: list[ImageCategory] = []
    seen: set[int] = set()
    for image_id, counts in _sf_by_image(dataset):
        seen.add(image_id)
        category, labels = categorise(originals.get(image_id), counts, sf_ratio, min_workers)
        rows.append(_category(image_id, category, labels, sf_ratio, min_workers))
        if category == ImageCategory.Category.FOLLOW_UP:
            summary.follow_up[image_id] = labels
    rows += [
        _category(image_id, ImageCategory.Category.AMBIGUOUS, [], sf_ratio, min_workers)
        for image_id in originals if image_id not in seen
    ]
    summary.counts.update(row.category for row in rows)
    ImageCategory.objects.filter(image__dataset=dataset).delete()
    ImageCategory.objects.bulk_create(rows, batch_size=BULK_SIZE)
    return summary


# `analytics.aggregation.categorise` for every image of a dataset in one statement. Same arithmetic
# in double precision: threshold = (ratio x selected) / shown of the original label, a label is
# confident when shown >= m, selected > 0 and selected / shown >= threshold - 1e-12; confident
# labels by decreasing SF, then index. The threshold is NULL (no confident label) for images
# that are amb or mis; as a join condition rather than a filter on `images` it keeps the
# planner's estimates right. LIMIT 1 (the pair is unique) keeps the original label's counts an
# index lookup per image instead of a hash join over every pair of the table. array_agg +
# to_jsonb gives the same JSON array as jsonb_agg at less than half the cost. Every image of the
# dataset gets a row, so the upsert leaves no stale row; unchanged rows are not rewritten.
CATEGORISE_SQL = """
WITH images AS (
    SELECT i.id AS image_id, i.original_label_id AS original_id,
           o.n_selected AS original_selected, o.n_shown AS original_shown,
           CASE WHEN o.n_shown >= greatest(%(min_workers)s, 1) AND o.n_selected > 0
                THEN %(sf_ratio)s::float8 * o.n_selected / o.n_shown - 1e-12::float8 END AS threshold
    FROM {image} i
    LEFT JOIN LATERAL (
        SELECT n_selected, n_shown FROM {sf} WHERE image_id = i.id AND label_id = i.original_label_id LIMIT 1
    ) o ON true
    WHERE i.dataset_id = %(dataset)s
), confident AS (
    SELECT s.image_id,
           to_jsonb(array_agg(l.index ORDER BY s.n_selected::float8 / s.n_shown DESC, l.index)) AS labels,
           count(*) = 1 AND bool_and(s.label_id = img.original_id) AS only_original
    FROM images img
    JOIN {sf} s ON s.image_id = img.image_id
    JOIN {label} l ON l.id = s.label_id
    WHERE s.n_shown >= %(min_workers)s AND s.n_selected > 0
      AND s.n_selected::float8 / nullif(s.n_shown, 0) >= img.threshold
    GROUP BY s.image_id
)
INSERT INTO {category} AS c (image_id, category, labels, sf_ratio, min_workers)
SELECT img.image_id,
       CASE WHEN img.original_id IS NULL
                 OR coalesce(img.original_shown, 0) < greatest(%(min_workers)s, 1) THEN %(amb)s
            WHEN img.original_selected = 0 THEN %(mis)s
            WHEN conf.only_original THEN %(easy)s
            ELSE %(fu)s END,
       coalesce(conf.labels, '[]'::jsonb), %(sf_ratio)s::float8, %(min_workers)s
FROM images img LEFT JOIN confident conf ON conf.image_id = img.image_id
ON CONFLICT (image_id) DO UPDATE
SET category = EXCLUDED.category, labels = EXCLUDED.labels,
    sf_ratio = EXCLUDED.sf_ratio, min_workers = EXCLUDED.min_workers
WHERE (c.category, c.labels, c.sf_ratio, c.min_workers)
      IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.labels, EXCLUDED.sf_ratio, EXCLUDED.min_workers)
"""


def _categorise_postgresql(dataset: Dataset, sf_ratio: float, min_workers: int) -> None:
    quote = connection.ops.quote_name
    sql = CATEGORISE_SQL.format(
        image=quote(Image._meta.db_table), sf=quote(SelectionFrequency._meta.db_table),
        label=quote(LabelClass._meta.db_table), category=quote(ImageCategory._meta.db_table),
    )
    category = ImageCategory.Category
    with connection.cursor() as cursor:
        _pg_settings(cursor)
        cursor.execute(sql, {
            "dataset": dataset.pk, "sf_ratio": float(sf_ratio), "min_workers": min_workers,
            "amb": category.AMBIGUOUS, "mis": category.MIS, "easy": category.EASY, "fu": category.FOLLOW_UP,
        })


def _stored_summary(dataset: Dataset) -> CategorySummary:
    rows = ImageCategory.objects.filter(image__dataset=dataset)
    counts = Counter(dict(rows.values_list("category").annotate(n=Count("id")).values_list("category", "n")))
    follow_up = dict(
        rows.filter(category=ImageCategory.Category.FOLLOW_UP).order_by("image_id").values_list("image_id", "labels")
    )
    return CategorySummary(counts, follow_up)


def _category(image_id: int, category: str, labels: list[int], sf_ratio: float, min_workers: int) -> ImageCategory:
    return ImageCategory(
        image_id=image_id, category=category, labels=labels, sf_ratio=sf_ratio, min_workers=min_workers
    )


def _classify_answers(dataset: Dataset) -> Iterator[tuple[int, list[ClassifyAnswer]]]:
    rows = (
        counted_classify_responses(dataset)
        .order_by("image_id", "id")
        .values_list("image_id", "assignment__worker_id", "selected", "main_label__index")
        .iterator(chunk_size=BULK_SIZE)
    )
    for image_id, group in groupby(rows, key=lambda row: row[0]):
        yield image_id, [ClassifyAnswer(worker, tuple(selected), main) for _, worker, selected, main in group]


@transaction.atomic
def aggregate_classify_results(dataset: Dataset, ties: str = TIES_SMALLEST) -> int:
    """Replace the dataset's ClassifyResult rows by aggregates of the counted CLASSIFY responses
    (answers in the order they were stored; `ties` is the tie convention of analytics.aggregation)."""
    originals = dict(
        Image.objects.filter(dataset=dataset).values_list("id", "original_label__index").iterator(BULK_SIZE)
    )
    label_pk = dict(LabelClass.objects.values_list("index", "pk"))
    rows = []
    for image_id, answers in _classify_answers(dataset):
        result = aggregate_classify(answers, originals.get(image_id), ties)
        if result is None:
            continue
        rows.append(ClassifyResult(
            image_id=image_id, num_annotators=result.num_annotators, num_objects=result.num_objects,
            main_label_id=label_pk[result.main_label],
            main_votes={str(label): votes for label, votes in result.main_votes.items()},
            object_groups=result.objects, main_object=result.main_object,
            original_object=result.original_object,
            original_object_main_share=result.original_object_main_share,
            num_objects_tied=result.num_objects_tied, main_label_tied=result.main_label_tied,
        ))
    ClassifyResult.objects.filter(image__dataset=dataset).delete()
    ClassifyResult.objects.bulk_create(rows, batch_size=BULK_SIZE)
    return len(rows)


@dataclass(frozen=True)
class AggregateSummary:
    pairs: int
    categories: CategorySummary
    classify_results: int


def aggregate_dataset(
    dataset: Dataset, sf_ratio: float = 0.5, min_workers: int = 5, ties: str = TIES_SMALLEST
) -> AggregateSummary:
    """Recompute every aggregate of a dataset: SF, categories, CLASSIFY results (tie convention `ties`)."""
    pairs = aggregate_selection_frequencies(dataset)
    categories = categorise_images(dataset, sf_ratio, min_workers)
    return AggregateSummary(pairs, categories, aggregate_classify_results(dataset, ties))
