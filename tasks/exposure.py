"""A worker never judges the same item twice: checked wherever an assignment is handed out.

Top-up rounds put undecided items into new HITs; a second answer from a worker who already judged
the item would count as independent evidence when it is not. The item of a CONTAINS HIT is an
(image, label) pair, of a CLASSIFY HIT an image. A HIT repeats an item when one of its tiles was shown
to the worker before and at least one of the two tiles is a candidate: a gold tile's answer counts in
the pair's selection frequency too, while the same gold control may come back in later grids.
"""

from itertools import chain

from django.db.models import Q, QuerySet

from tasks.models import Hit, HitItem, TaskKind, Worker

FIRST_CANDIDATES = 8


def repeats_an_item(hit: Hit, worker: Worker) -> bool:
    """True when the worker had an assignment on another HIT that showed one of this HIT's items."""
    kind = hit.batch.kind
    if kind not in (TaskKind.CONTAINS, TaskKind.CLASSIFY):
        return False
    tiles = HitItem.objects.filter(hit_id=hit.pk)
    candidate = Q(role=HitItem.Role.CANDIDATE)
    shown_before = HitItem.objects.filter(hit__batch__kind=kind, hit__assignments__worker=worker).exclude(hit_id=hit.pk)
    if kind == TaskKind.CONTAINS:
        shown_before = shown_before.filter(hit__label_id=hit.label_id)
    return shown_before.filter(
        Q(image_id__in=tiles.filter(candidate).values("image_id")) | Q(candidate, image_id__in=tiles.values("image_id"))
    ).exists()


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
