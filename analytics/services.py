"""Aggregation over the database: selection frequencies, image categories, CLASSIFY results.

The counting for selection frequencies happens in SQL (one GROUP BY with a FILTER, written with one
INSERT ... SELECT) so millions of judgments aggregate in seconds; CLASSIFY aggregates are computed
per image by the pure functions of analytics.aggregation.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet

from analytics.aggregation import ClassifyAnswer, aggregate_classify, categorise
from analytics.models import ClassifyResult, ImageCategory, SelectionFrequency
from annotation.models import ClassifyResponse, ContainsJudgment, Dataset, Image, LabelClass
from tasks.models import Assignment

BULK_SIZE = 5000
COUNTED_STATUSES = (Assignment.Status.SUBMITTED, Assignment.Status.APPROVED)


def counted_judgments(dataset: Dataset) -> QuerySet:
    """CONTAINS judgments that count: submitted or approved assignments that passed quality control."""
    return ContainsJudgment.objects.filter(
        image__dataset=dataset, assignment__status__in=COUNTED_STATUSES, assignment__flagged=False
    )


def counted_classify_responses(dataset: Dataset) -> QuerySet:
    return ClassifyResponse.objects.filter(
        image__dataset=dataset, assignment__status__in=COUNTED_STATUSES, assignment__flagged=False
    )


def _sf_counts_sql(dataset: Dataset) -> tuple[str, tuple]:
    """SELECT image_id, label_id, n_selected, n_shown: one GROUP BY with a FILTER over counted judgments.

    The dataset is found through the assignment's batch (a judgment's image always belongs to the
    dataset of its batch), which spares a join of every judgment with its image.
    """
    counts = (
        ContainsJudgment.objects.filter(
            assignment__hit__batch__dataset=dataset,
            assignment__status__in=COUNTED_STATUSES, assignment__flagged=False,
        )
        .values("image_id", "label_id")
        .annotate(n_selected=Count("id", filter=Q(selected=True)), n_shown=Count("*"))
        .values_list("image_id", "label_id", "n_selected", "n_shown")
        .order_by()
    )
    return counts.query.sql_with_params()


@transaction.atomic
def aggregate_selection_frequencies(dataset: Dataset) -> int:
    """Replace the dataset's SelectionFrequency rows by fresh counts (one transaction); returns the pair count."""
    sql, params = _sf_counts_sql(dataset)
    if connection.vendor == "postgresql":
        return _replace_sf_postgresql(dataset, sql, params)
    table = connection.ops.quote_name(SelectionFrequency._meta.db_table)
    SelectionFrequency.objects.filter(image__dataset=dataset).delete()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (image_id, label_id, n_selected, n_shown) {sql}", params)
        return cursor.rowcount


def _replace_sf_postgresql(dataset: Dataset, sql: str, params: tuple) -> int:
    """Counts into a temporary table, then write only what changed.

    CREATE TABLE AS may use parallel workers (INSERT ... SELECT may not). Pairs that disappeared are
    deleted, new or changed pairs are upserted in index order, unchanged pairs are not written at
    all, so re-aggregating after a few new HITs costs little more than the counting.
    """
    table = connection.ops.quote_name(SelectionFrequency._meta.db_table)
    image_table = connection.ops.quote_name(Image._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")  # compiling costs seconds and gains nothing on one scan
        cursor.execute(f"CREATE TEMPORARY TABLE relabel_sf_new AS {sql}", params)
        cursor.execute("ANALYZE relabel_sf_new")
        cursor.execute(
            f"DELETE FROM {table} sf USING {image_table} i WHERE sf.image_id = i.id AND i.dataset_id = %s "  # noqa: S608
            "AND NOT EXISTS (SELECT 1 FROM relabel_sf_new n "
            "WHERE n.image_id = sf.image_id AND n.label_id = sf.label_id)",
            [dataset.pk],
        )
        cursor.execute(
            f"INSERT INTO {table} AS sf (image_id, label_id, n_selected, n_shown) "  # noqa: S608
            "SELECT * FROM relabel_sf_new ORDER BY image_id, label_id "
            "ON CONFLICT (image_id, label_id) DO UPDATE "
            "SET n_selected = EXCLUDED.n_selected, n_shown = EXCLUDED.n_shown "
            "WHERE (sf.n_selected, sf.n_shown) IS DISTINCT FROM (EXCLUDED.n_selected, EXCLUDED.n_shown)"
        )
        cursor.execute("SELECT count(*) FROM relabel_sf_new")
        pairs = cursor.fetchone()[0]
        cursor.execute("DROP TABLE relabel_sf_new")
    return pairs


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
    the labels to offer in CLASSIFY.
    """
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
def aggregate_classify_results(dataset: Dataset) -> int:
    """Replace the dataset's ClassifyResult rows by aggregates of the counted CLASSIFY responses."""
    originals = dict(
        Image.objects.filter(dataset=dataset).values_list("id", "original_label__index").iterator(BULK_SIZE)
    )
    label_pk = dict(LabelClass.objects.values_list("index", "pk"))
    rows = []
    for image_id, answers in _classify_answers(dataset):
        result = aggregate_classify(answers, originals.get(image_id))
        if result is None:
            continue
        rows.append(ClassifyResult(
            image_id=image_id, num_annotators=result.num_annotators, num_objects=result.num_objects,
            main_label_id=label_pk[result.main_label],
            main_votes={str(label): votes for label, votes in result.main_votes.items()},
            object_groups=result.objects, main_object=result.main_object,
            original_object=result.original_object,
            original_object_main_share=result.original_object_main_share,
        ))
    ClassifyResult.objects.filter(image__dataset=dataset).delete()
    ClassifyResult.objects.bulk_create(rows, batch_size=BULK_SIZE)
    return len(rows)


@dataclass(frozen=True)
class AggregateSummary:
    pairs: int
    categories: CategorySummary
    classify_results: int


def aggregate_dataset(dataset: Dataset, sf_ratio: float = 0.5, min_workers: int = 5) -> AggregateSummary:
    """Recompute every aggregate of a dataset: SF, categories, CLASSIFY results."""
    pairs = aggregate_selection_frequencies(dataset)
    categories = categorise_images(dataset, sf_ratio, min_workers)
    return AggregateSummary(pairs, categories, aggregate_classify_results(dataset))
