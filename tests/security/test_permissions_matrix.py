"""Who may do what, for every URL the resolver knows.

Roles: anonymous, an annotator, another annotator, staff, and a dataset-scoped API token. The URL
patterns are enumerated from the resolver: a new URL without an entry in MATRIX fails
`test_every_url_has_a_matrix_entry`. Admin URLs are enumerated too and checked by one rule.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from analytics.models import ClassifyResult, JobRun, SelectionFrequency
from annotation.models import CandidateLabel, ClassifyResponse, ContainsJudgment, Image, LabelClass
from annotation.submission import submission_result
from label1000.models import Label1000Response
from models_zoo.models import Prediction
from tasks.models import Assignment, Worker
from tasks.signing import make_token, read_token
from tests.factories import ClassifyResponseFactory, ContainsJudgmentFactory, DatasetFactory, ImageFactory
from tests.images import jpeg_bytes
from tests.security.world import World

pytestmark = pytest.mark.django_db

LOGIN = "login"  # a redirect to a login page
ROLES = ("anonymous", "annotator", "other_annotator", "staff", "token")


@dataclass
class Call:
    method: str
    url: str
    data: dict = field(default_factory=dict)
    json: bool = False


Build = Callable[[World], Call]


def _get(url: Callable[[World], str]) -> Build:
    return lambda w: Call("GET", url(w))


def _expect(anonymous, annotator, other_annotator, staff, token) -> dict[str, int | str]:
    return dict(zip(ROLES, (anonymous, annotator, other_annotator, staff, token), strict=True))


PUBLIC = _expect(200, 200, 200, 200, 200)
STAFF_PAGE = _expect(LOGIN, 403, 403, 200, LOGIN)
API_READ = _expect(401, 403, 403, 200, 200)
API_STAFF_ONLY = _expect(401, 403, 403, 200, 401)


def _media(w: World) -> Call:
    name = default_storage.save(f"thumbnails/{w.image.pk}.jpg", ContentFile(jpeg_bytes()))
    return Call("GET", f"/media/{name}")


def _exemplar(w: World) -> Call:
    for image in Image.objects.filter(dataset=w.dataset):
        default_storage.save(image.thumbnail.name, ContentFile(jpeg_bytes()))
    shown = set(w.label1000_hit.items.values_list("image_id", flat=True))
    wnid = Image.objects.filter(dataset=w.dataset).exclude(pk__in=shown).first().original_label.wnid
    return Call("GET", reverse("annotation:label1000-exemplar", args=[w.label1000_hit.pk, wnid, 0]))


def _submit_own_work(w: World) -> Call:
    """The annotator's own assignment, submitted with its token: only that annotator may use it."""
    worker = Worker.objects.get(user=w.annotator)
    assignment = Assignment.objects.create(hit=w.contains_hit, worker=worker)
    body = {"token": make_token(assignment), "selected": []}
    return Call("POST", f"/hit/{w.contains_hit.pk}/submit/", body, json=True)


def _job_status(w: World) -> Call:
    job = JobRun.objects.create(dataset=w.dataset, kind=JobRun.Kind.AGGREGATE)
    return Call("GET", reverse("analytics:job-status", args=[job.pk]))


def _tag(w: World) -> Call:
    response = Label1000Response.objects.filter(image__dataset=w.dataset).first()
    data = {"source": "human", "image": response.image_id, "response": response.pk, "types": ["other"]}
    return Call("POST", reverse("analytics:label1000-tag", args=[w.dataset.name]), data)


def _link_done(w: World) -> Call:
    return Call("POST", "/mturk/externalSubmit", {"assignmentId": "L-not-submitted"})


def _sf_key(row: SelectionFrequency) -> str:
    """The API addresses a selection frequency by its pair: <image_id>-<label index>."""
    return f"{row.image_id}-{row.label.index}"


def _api_row_key(row: dict) -> object:
    if "n_shown" in row:  # a selection frequency: no id, its pair is the key
        return f"{row['image_id']}-{row['label']}"
    return row.get("id", row.get("name"))


DETAIL_OBJECTS: dict[str, Callable[[World], object]] = {
    "dataset": lambda w: w.dataset.name,
    "class": lambda w: LabelClass.objects.first().index,
    "image": lambda w: w.image.pk,
    "prediction": lambda w: Prediction.objects.filter(image__dataset=w.dataset).first().pk,
    "candidate": lambda w: CandidateLabel.objects.filter(image__dataset=w.dataset).first().pk,
    "selection-frequency": lambda w: _sf_key(SelectionFrequency.objects.filter(image__dataset=w.dataset).first()),
    "classify-result": lambda w: ClassifyResult.objects.filter(image__dataset=w.dataset).first().pk,
    "contains-judgment": lambda w: ContainsJudgment.objects.filter(image__dataset=w.dataset).first().pk,
    "classify-response": lambda w: ClassifyResponse.objects.filter(image__dataset=w.dataset).first().pk,
    "worker": lambda w: Worker.objects.filter(assignments__hit__batch__dataset=w.dataset).first().pk,
}


def _api_entries() -> dict[str, tuple[Build, dict]]:
    entries: dict[str, tuple[Build, dict]] = {}
    for name, pk in DETAIL_OBJECTS.items():
        entries[f"analytics:{name}-list"] = (_get(lambda w, n=name: reverse(f"analytics:{n}-list")), API_READ)
        entries[f"analytics:{name}-detail"] = (
            _get(lambda w, n=name, pk=pk: reverse(f"analytics:{n}-detail", args=[pk(w)])), API_READ
        )
    return entries


MATRIX: dict[str, tuple[Build, dict]] = {
    "home": (_get(lambda w: "/"), PUBLIC),
    "healthz": (_get(lambda w: "/healthz"), PUBLIC),
    "readyz": (_get(lambda w: "/readyz"), PUBLIC),
    "media": (_media, PUBLIC),
    "login": (_get(lambda w: "/accounts/login/"), PUBLIC),
    "logout": (lambda w: Call("POST", "/accounts/logout/"), PUBLIC),
    # HIT pages are public by design (MTurk previews, link-provider participants); each visitor sees
    # a preview or their own assignment, never someone else's.
    "annotation:hit": (_get(lambda w: f"/hit/{w.contains_hit.pk}/"), PUBLIC),
    "annotation:hit-submit": (_submit_own_work, _expect(403, 200, 403, 403, 403)),
    "annotation:annotate": (_get(lambda w: "/annotate/"), _expect(LOGIN, 302, 302, 200, LOGIN)),
    "annotation:batch-preview": (
        _get(lambda w: f"/batch/{w.contains_hit.batch_id}/preview/"), _expect(404, 404, 404, 302, 404)
    ),
    "annotation:label1000-exemplar": (_exemplar, PUBLIC),
    "tasks:link-start": (
        _get(lambda w: f"/link/{w.link_batch.pk}/start/?PROLIFIC_PID=P1"), _expect(302, 302, 302, 302, 302)
    ),
    "tasks:link-done": (_link_done, _expect(400, 400, 400, 400, 400)),
    # Prolific's landing URL is public (participants have no account); a batch that is no open Prolific
    # study refuses everyone alike.
    "tasks:prolific-start": (
        _get(lambda w: f"/prolific/{w.link_batch.pk}/start/?PROLIFIC_PID={'b' * 24}&STUDY_ID={'a' * 24}"
                       f"&SESSION_ID={'c' * 24}"),
        _expect(410, 410, 410, 410, 410),
    ),
    "analytics:index": (_get(lambda w: "/dashboard/"), STAFF_PAGE),
    "analytics:job-status": (_job_status, STAFF_PAGE),
    "analytics:dataset": (_get(lambda w: f"/dashboard/{w.dataset.name}/"), STAFF_PAGE),
    "analytics:analysis-csv": (_get(lambda w: f"/dashboard/{w.dataset.name}/analysis/objects.csv"), STAFF_PAGE),
    "analytics:image": (_get(lambda w: f"/dashboard/{w.dataset.name}/image/{w.image.pk}/"), STAFF_PAGE),
    "analytics:start-job": (
        lambda w: Call("POST", f"/dashboard/{w.dataset.name}/jobs/aggregate/"), _expect(LOGIN, 403, 403, 302, LOGIN)
    ),
    "analytics:top-up": (
        lambda w: Call("POST", f"/dashboard/{w.dataset.name}/top-up/contains/"), _expect(LOGIN, 403, 403, 302, LOGIN)
    ),
    "analytics:label1000": (_get(lambda w: f"/dashboard/{w.dataset.name}/label1000/"), STAFF_PAGE),
    "analytics:label1000-tag": (_tag, _expect(LOGIN, 403, 403, 302, LOGIN)),
    "analytics:models": (_get(lambda w: f"/dashboard/{w.dataset.name}/models/"), STAFF_PAGE),
    "analytics:export": (_get(lambda w: f"/api/v1/datasets/{w.dataset.name}/export/sf.jsonl"), API_READ),
    "analytics:model-report": (_get(lambda w: f"/api/v1/datasets/{w.dataset.name}/models/"), API_READ),
    "analytics:model-report-export": (_get(lambda w: f"/api/v1/datasets/{w.dataset.name}/models.csv"), API_READ),
    "analytics:api-root": (_get(lambda w: "/api/v1/"), API_STAFF_ONLY),
    # The schema and its docs describe the API (public source code), never data.
    "analytics:schema": (_get(lambda w: "/api/schema/"), _expect(200, 200, 200, 200, 401)),
    "analytics:api-docs": (_get(lambda w: "/api/docs/"), _expect(200, 200, 200, 200, 401)),
    **_api_entries(),
}


def _walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str | None, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            yield prefix + str(pattern.pattern), (namespace + pattern.name) if pattern.name else None, pattern


def _app_urls() -> list[tuple[str, str | None]]:
    return [(route, name) for route, name, _ in _walk(get_resolver().url_patterns) if not route.startswith("admin/")]


def client_for(role: str, world: World) -> Client:
    if role == "token":
        return Client(HTTP_AUTHORIZATION=f"Token {world.scoped_token}")
    client = Client()
    user = {"annotator": world.annotator, "other_annotator": world.other_annotator, "staff": world.staff}.get(role)
    if user is not None:
        client.force_login(user)
    return client


def perform(client: Client, call: Call):
    if call.method == "GET":
        return client.get(call.url)
    if call.json:
        return client.post(call.url, data=json.dumps(call.data), content_type="application/json")
    return client.post(call.url, call.data)


def assert_outcome(response, expected: int | str, where: str) -> None:
    if expected == LOGIN:
        assert response.status_code == 302, (where, response.status_code)
        assert "/login/" in response["Location"], (where, response["Location"])
    else:
        assert response.status_code == expected, (where, response.status_code, response.content[:200])


def test_every_url_has_a_matrix_entry():
    unnamed = [route for route, name in _app_urls() if name is None]
    assert not unnamed, f"name these URL patterns so they can have a permission entry: {unnamed}"
    missing = sorted({name for _, name in _app_urls()} - set(MATRIX))
    assert not missing, f"add a permission-matrix entry for: {missing}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_gets_the_expected_outcome(world, name, role):
    build, expected = MATRIX[name]
    call = build(world)
    assert_outcome(perform(client_for(role, world), call), expected[role], f"{name} as {role}")


ADMIN_SAMPLE_ARGS = {"object_id": "1", "id": "1", "app_label": "tasks", "content_type_id": "1", "url": "nowhere/"}
ADMIN_PUBLIC = {"admin:login", "admin:logout"}


def _admin_urls() -> list[tuple[str, str]]:
    urls = []
    for route, name, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("admin/"):
            continue
        kwargs = {key: ADMIN_SAMPLE_ARGS[key] for key in pattern.pattern.regex.groupindex}
        urls.append((name or route, "/admin/" + reverse_route(pattern, kwargs)))
    return urls


def reverse_route(pattern: URLPattern, kwargs: dict[str, str]) -> str:
    if pattern.name:
        return reverse(f"admin:{pattern.name}", kwargs=kwargs).removeprefix("/admin/")
    return kwargs.get("url", "") or kwargs.get("object_id", "")


@pytest.mark.parametrize("role", ["anonymous", "annotator", "token"])
def test_every_admin_url_sends_non_staff_to_the_login_page(world, role):
    client = client_for(role, world)
    urls = [(name, url) for name, url in _admin_urls() if name not in ADMIN_PUBLIC]
    assert len(urls) > 50
    for name, url in urls:
        for response in (client.get(url), client.post(url, {"action": "delete_selected", "post": "yes"})):
            assert_outcome(response, LOGIN, f"{name} {url} as {role}")


def test_staff_without_model_permissions_see_the_admin_index_but_no_model(world):
    client = client_for("staff", world)
    assert client.get("/admin/").status_code == 200
    model_pages = [(n, u) for n, u in _admin_urls() if n.endswith(("_changelist", "_add", "_change", "_delete"))]
    for name, url in model_pages:
        if name != "admin:password_change":
            assert client.get(url).status_code == 403, (name, url)


def test_another_annotator_cannot_submit_or_resubmit_for_someone_else(world):
    theirs = world.other_assignment
    body = json.dumps({"token": make_token(theirs), "selected": []})
    response = client_for("annotator", world).post(f"/hit/{theirs.hit_id}/submit/", body,
                                                   content_type="application/json")
    assert response.status_code == 403
    assert not ContainsJudgment.objects.filter(assignment=theirs).exists()
    assert submission_result(theirs).body["stored"] == 0


def test_an_annotator_never_sees_another_workers_assignment_on_the_hit_page(world):
    page = client_for("annotator", world).get(f"/hit/{world.contains_hit.pk}/")
    mine = Assignment.objects.get(hit=world.contains_hit, worker__user=world.annotator)
    config = page.context["config"]
    # The token's claims, not its text: a token signed in another second carries another timestamp.
    assert read_token(config["token"], world.contains_hit.pk).assignment_id == mine.pk
    assert mine.pk != world.other_assignment.pk


def test_a_forged_or_foreign_token_is_refused(world):
    theirs = world.other_assignment
    forged = make_token(theirs)[:-2] + "xx"
    other_hit = world.classify_hit.pk
    for hit_id, token in ((theirs.hit_id, forged), (other_hit, make_token(theirs))):
        response = Client().post(f"/hit/{hit_id}/submit/", json.dumps({"token": token, "selected": []}),
                                 content_type="application/json")
        assert response.status_code == 403


def _second_dataset() -> dict[str, object]:
    """One row of every API table in a dataset the scoped token was not issued for."""
    image = ImageFactory(dataset=DatasetFactory(name="second"), original_label=LabelClass.objects.first())
    label = image.original_label
    judgment = ContainsJudgmentFactory(image=image, label=label)
    return {
        "dataset": "second",
        "image": image.pk,
        "prediction": Prediction.objects.create(image=image, model_name="m", labels=[0], probs=[1.0]).pk,
        "candidate": CandidateLabel.objects.create(image=image, label=label).pk,
        "selection-frequency": _sf_key(SelectionFrequency.objects.create(image=image, label=label, n_selected=1,
                                                                         n_shown=1)),
        "classify-result": ClassifyResult.objects.create(image=image, num_annotators=1, num_objects=1,
                                                         main_label=label, main_object=0).pk,
        "contains-judgment": judgment.pk,
        "classify-response": ClassifyResponseFactory(image=image, main_label=label).pk,
        "worker": judgment.assignment.worker_id,
    }


def test_a_scoped_token_reads_nothing_of_another_dataset(world):
    foreign = _second_dataset()
    client = client_for("token", world)
    for name, pk in foreign.items():
        assert client.get(reverse(f"analytics:{name}-detail", args=[pk])).status_code == 404, name
        rows = client.get(reverse(f"analytics:{name}-list"), {"page_size": 1000}).json()["results"]
        ids = {_api_row_key(row) for row in rows}
        assert rows and pk not in ids, name
    assert client.get("/api/v1/datasets/second/export/sf.jsonl").status_code == 404
    assert client.get("/api/v1/datasets/second/models/").status_code == 404
    assert client.get("/api/v1/datasets/second/models.csv").status_code == 404
    assert client.get("/api/v1/images/", {"dataset": "second"}).json()["results"] == []
