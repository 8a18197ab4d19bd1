import pytest

from tasks.models import Assignment, Hit, Provider, Worker
from tests.factories import DatasetFactory, LabelClassFactory, UserFactory
from tests.hitdata import contains_hit, images

pytestmark = pytest.mark.django_db

MTURK = {"hitId": "H1", "workerId": "AW1", "assignmentId": "A1", "turkSubmitTo": "https://workersandbox.mturk.com"}


@pytest.fixture
def hit():
    label = LabelClassFactory(name="tabby", lemmas=["tabby", "tabby cat"],
                              definition="a cat with a grey or tawny coat mottled with black",
                              wikipedia="https://en.wikipedia.org/wiki/Tabby_cat")
    return contains_hit(label, images(3, dataset=DatasetFactory()))


def test_it_renders_the_class_definition_instructions_and_grid(client, hit):
    response = client.get(f"/hit/{hit.pk}/", MTURK)
    html = response.content.decode()
    assert response.status_code == 200
    assert "tabby, tabby cat" in html
    assert "a cat with a grey or tawny coat mottled with black" in html
    assert 'href="https://en.wikipedia.org/wiki/Tabby_cat"' in html
    assert "drawings, paintings" in html and "occluded" in html
    for item in hit.items.all():
        assert f'data-image="{item.image_id}"' in html
    assert html.count('class="tile"') == 3
    assert 'id="hit-config" type="application/json"' in html


def test_it_creates_the_worker_and_assignment_and_signs_a_token(client, hit):
    hit.batch.provider = Provider.MTURK_SANDBOX
    hit.batch.save()
    response = client.get(f"/hit/{hit.pk}/", MTURK)
    config = response.context["config"]
    worker = Worker.objects.get(provider=Provider.MTURK_SANDBOX, external_id="AW1")
    assignment = Assignment.objects.get(hit=hit, worker=worker, provider_assignment_id="A1")
    assert config["token"] and not config["preview"]
    assert config["mturkSubmitUrl"] == "https://workersandbox.mturk.com/mturk/externalSubmit"
    client.get(f"/hit/{hit.pk}/", MTURK)
    assert Assignment.objects.filter(hit=hit).count() == 1
    assert assignment.status == Assignment.Status.ACCEPTED


@pytest.mark.parametrize("params", [{}, {**MTURK, "assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"}])
def test_it_shows_a_read_only_preview_without_an_assignment(client, hit, params):
    response = client.get(f"/hit/{hit.pk}/", params)
    assert response.status_code == 200
    assert response.context["config"]["preview"] is True
    assert response.context["config"]["token"] is None
    assert "Preview" in response.content.decode()
    assert not Assignment.objects.exists()


def test_it_lets_mturk_frame_the_page_and_nothing_else(client, hit, settings):
    settings.RELABEL_MTURK_SUBMIT_HOSTS = ["http://127.0.0.1:8765"]
    response = client.get(f"/hit/{hit.pk}/", {**MTURK, "turkSubmitTo": "http://127.0.0.1:8765"})
    csp = response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    assert "frame-ancestors 'self' https://www.mturk.com https://workersandbox.mturk.com https://worker.mturk.com " \
        "http://127.0.0.1:8765" in csp
    assert "form-action 'self' http://127.0.0.1:8765" in csp
    assert client.get("/")["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "submit_to", ["https://evil.example", "https://www.mturk.com.evil.example", "javascript:alert(1)",
                  "https://www.mturk.com/path"],
)
def test_it_refuses_to_submit_anywhere_but_mturk(client, hit, submit_to):
    response = client.get(f"/hit/{hit.pk}/", {**MTURK, "turkSubmitTo": submit_to})
    assert response.status_code == 400
    assert not Assignment.objects.exists()


def test_it_does_not_open_unpublished_hits_to_workers(client):
    draft = contains_hit(LabelClassFactory(), images(2), status=Hit.Status.DRAFT)
    assert client.get(f"/hit/{draft.pk}/", MTURK).status_code == 410
    assert client.get(f"/hit/{draft.pk}/").status_code == 404
    client.force_login(UserFactory(is_staff=True))
    assert client.get(f"/hit/{draft.pk}/").status_code == 200


def test_it_escapes_class_text_and_passes_data_through_json_script(client):
    label = LabelClassFactory(name="<script>alert(1)</script>", lemmas=["</script><b>x"])
    page = client.get(f"/hit/{contains_hit(label, images(1)).pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "</script><b>x" not in page
