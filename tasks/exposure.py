"""A worker never judges the same item twice: checked wherever an assignment is handed out.

Top-up rounds put undecided items into new HITs; a second answer from a worker who already judged
the item would count as independent evidence when it is not. The item of a CONTAINS HIT is an
(image, label) pair, of a CLASSIFY HIT an image. A HIT repeats an item when one of its tiles was shown
to the worker before and at least one of the two tiles is a candidate: a gold tile's answer counts in
the pair's selection frequency too, while the same gold control may come back in later grids.
"""

from itertools import chain

from django.db import connection
from django.db.models import QuerySet

from tasks.models import Hit, HitItem, TaskKind, Worker

FIRST_CANDIDATES = 8


# A tile of the worker's earlier HITs (same kind; for CONTAINS, same class) showing an image of this HIT, one of
# the two tiles a candidate. Written as SQL: it runs on every HIT page's first visit and every next-HIT search,
# and Django compiled it from querysets in ten times the CPU the database needed to answer it. The worker's
# earlier HITs form a semi-join of their own, which PostgreSQL plans in half the time of one five-table join.
_REPEAT_SQL = """
    SELECT 1 FROM tasks_hititem seen
    WHERE seen.hit_id IN (
        SELECT shown.hit_id FROM tasks_assignment shown
        INNER JOIN tasks_hit earlier ON earlier.id = shown.hit_id
        INNER JOIN tasks_batch earlier_batch ON earlier_batch.id = earlier.batch_id
        WHERE shown.worker_id = %s AND shown.hit_id <> %s AND earlier_batch.kind = %s{same_class}
    ) AND EXISTS (
        SELECT 1 FROM tasks_hititem tile
        WHERE tile.hit_id = %s AND tile.image_id = seen.image_id AND (tile.role = %s OR seen.role = %s)
    )
    LIMIT 1
"""


def repeats_an_item(hit: Hit, worker: Worker) -> bool:
    """True when the worker had an assignment on another HIT that showed one of this HIT's items."""
    kind = hit.batch.kind
    if kind not in (TaskKind.CONTAINS, TaskKind.CLASSIFY):
        return False
    same_class, same_class_params = "", []
    if kind == TaskKind.CONTAINS:
        same_class, same_class_params = (
            (" AND earlier.label_id = %s", [hit.label_id]) if hit.label_id is not None
            else (" AND earlier.label_id IS NULL", [])
        )
    params = [worker.pk, hit.pk, kind, *same_class_params, hit.pk, HitItem.Role.CANDIDATE, HitItem.Role.CANDIDATE]
    with connection.cursor() as cursor:
        cursor.execute(_REPEAT_SQL.format(same_class=same_class), params)
        return cursor.fetchone() is not None


def first_new_to(worker: Worker, hits: QuerySet[Hit]) -> Hit | None:
    """The first HIT of `hits` (in their order) that shows the worker no item a second time.

    The first few HITs come from one plain query, and usually the first of them will do: only when all of
    them repeat an item are the others read through `iterator()`, which on PostgreSQL opens a server-side
    cursor and fetches up to 2000 rows.
    """
    hits = hits.select_related("batch")
    first = list(hits[:FIRST_CANDIDATES])
    checked = {hit.pk for hit in first}
    others = hits.iterator() if len(first) == FIRST_CANDIDATES else iter(())
    for hit in chain(first, (hit for hit in others if hit.pk not in checked)):
        if not repeats_an_item(hit, worker):
            return hit
    return None
