"""Every MTurk worker site may frame a HIT page and receive its externalSubmit form (a sandbox run can't tell)."""

import pytest

from tasks.mturk import WORKER_SITES
from tests.factories import DatasetFactory, LabelClassFactory
from tests.hitdata import contains_hit, images

pytestmark = pytest.mark.django_db


def _frame_ancestors(response) -> list[str]:
    directives = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    return directives["frame-ancestors"].split()


@pytest.mark.parametrize("origin", sorted({"https://www.mturk.com", *WORKER_SITES.values()}))
def test_it_lets_every_mturk_worker_site_frame_the_page_and_take_the_form(client, origin):
    hit = contains_hit(LabelClassFactory(), images(2, dataset=DatasetFactory()))
    response = client.get(f"/hit/{hit.pk}/", {"hitId": "H1", "workerId": "AW1", "assignmentId": "A1",
                                              "turkSubmitTo": origin})
    assert response.status_code == 200
    assert origin in _frame_ancestors(response)
    assert response.context["config"]["mturkSubmitUrl"] == f"{origin}/mturk/externalSubmit"
