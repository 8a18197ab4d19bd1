from datetime import timedelta

import pytest
from django.utils import timezone

from models_zoo.chunks import lost_chunk_ids
from models_zoo.models import ChunkStatus, InferenceChunk
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db


def chunk(status: str, age: timedelta = timedelta(0), lease: timedelta | None = None) -> int:
    created = InferenceChunk.objects.create(
        dataset=DatasetFactory(name="requeue"), model_names=["m"], topk=5, image_ids=[1], status=status,
        lease_until=timezone.now() + lease if lease is not None else None,
    )
    InferenceChunk.objects.filter(pk=created.pk).update(created_at=timezone.now() - age)
    return created.pk


def test_it_selects_old_pending_and_expired_running_chunks_only():
    old_pending = chunk(ChunkStatus.PENDING, age=timedelta(minutes=5))
    chunk(ChunkStatus.PENDING, age=timedelta(seconds=5))
    expired = chunk(ChunkStatus.RUNNING, age=timedelta(minutes=5), lease=timedelta(seconds=-1))
    chunk(ChunkStatus.RUNNING, age=timedelta(minutes=5), lease=timedelta(minutes=5))
    chunk(ChunkStatus.DONE, age=timedelta(minutes=5))
    chunk(ChunkStatus.FAILED, age=timedelta(minutes=5))
    assert lost_chunk_ids(timedelta(minutes=1)) == [old_pending, expired]
