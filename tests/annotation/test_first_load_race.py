"""Parallel first loads of one assignment (a worker's double click, a reloading iframe) all get it, once."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connection, connections
from django.test import Client

from tasks.models import Assignment, Provider
from tasks.signing import read_token
from tests.factories import UserFactory
from tests.integrity import mturk_visit, open_hit, page_config

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: runs in the PostgreSQL pass"),
]
LOADS = 20


def test_it_answers_every_parallel_first_load_with_the_same_assignment():
    hit = open_hit(places=3)
    barrier = Barrier(LOADS)

    def load(_: int) -> tuple[int, str | None]:
        try:
            barrier.wait()
            page = Client().get(f"/hit/{hit.pk}/", mturk_visit("ARACE", "WRACE"))
            config = page_config(page.content.decode()) if page.status_code == 200 else {}
            return page.status_code, config.get("assignmentId")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(LOADS) as pool:
        answers = list(pool.map(load, range(LOADS)))
    assert answers == [(200, "ARACE")] * LOADS
    assert Assignment.objects.filter(provider_assignment_id="ARACE").count() == 1


def test_it_answers_a_local_annotators_parallel_first_loads_with_the_same_assignment():
    hit = open_hit(provider=Provider.LOCAL, places=3)
    owner = UserFactory(username="racer")
    barrier = Barrier(LOADS)

    def load(_: int) -> tuple[int, str | None]:
        try:
            client = Client()
            client.force_login(owner)
            barrier.wait()
            page = client.get(f"/hit/{hit.pk}/")
            token = page_config(page.content.decode())["token"] if page.status_code == 200 else None
            return page.status_code, token and read_token(token, hit.pk).assignment_id
        finally:
            connections.close_all()

    with ThreadPoolExecutor(LOADS) as pool:
        answers = list(pool.map(load, range(LOADS)))
    started = Assignment.objects.get(hit=hit, worker__external_id="racer")
    assert answers == [(200, started.pk)] * LOADS
