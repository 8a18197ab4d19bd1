"""Build published CONTAINS HITs (file-less images) in the database named by DATABASE_URL.

Run as a script in the app's environment by the scale-out tests; prints {"hits": [...]} as JSON.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")


def build(hits: int, grid: int) -> dict:
    from annotation.models import Dataset, Image, LabelClass
    from annotation.taxonomy import load_taxonomy
    from tasks.models import Batch, Hit, HitItem, Provider, TaskKind

    if not LabelClass.objects.exists():
        load_taxonomy()
    dataset, _ = Dataset.objects.get_or_create(name="faults")
    label = LabelClass.objects.get(index=0)
    images = Image.objects.bulk_create(
        Image(dataset=dataset, external_id=f"fault_{n:05d}.jpg", original_label=label) for n in range(hits * grid)
    )
    batch = Batch.objects.create(dataset=dataset, kind=TaskKind.CONTAINS, provider=Provider.MTURK_SANDBOX,
                                 reward="0.10", assignments_per_hit=9, status=Batch.Status.PUBLISHED)
    created = Hit.objects.bulk_create(
        Hit(batch=batch, label=label, status=Hit.Status.PUBLISHED, provider_hit_id=f"FAULT{n}") for n in range(hits)
    )
    HitItem.objects.bulk_create(
        HitItem(hit=hit, image=images[h * grid + position], position=position)
        for h, hit in enumerate(created)
        for position in range(grid)
    )
    return {"hits": [{"id": hit.pk, "images": [images[h * grid + p].pk for p in range(grid)]}
                     for h, hit in enumerate(created)]}


if __name__ == "__main__":
    import django

    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=1)
    parser.add_argument("--grid", type=int, default=6)
    args = parser.parse_args()
    django.setup()
    print(json.dumps(build(args.hits, args.grid)))
