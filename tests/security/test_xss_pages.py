"""Stored and reflected XSS: payloads in every user-controlled string render inert on every page."""

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from tasks.models import Assignment
from tests.factories import DatasetFactory
from tests.security.world import PAYLOAD, SCRIPT, assert_inert

pytestmark = pytest.mark.django_db


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _html(response) -> str:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_it_escapes_dataset_names_on_the_home_page_and_in_the_admin(client, world):
    DatasetFactory(name=PAYLOAD, description=PAYLOAD)  # not a slug: only a direct database write makes one
    assert_inert(_html(_as(world.staff).get("/")), "home (staff see the datasets)")
    assert_inert(_html(_as(world.superuser).get("/admin/annotation/dataset/")), "dataset admin")


def test_it_escapes_class_names_definitions_and_file_names_on_every_kind_of_hit_page(world):
    annotator = _as(world.annotator)
    for hit in (world.contains_hit, world.classify_hit, world.label1000_hit):
        assert_inert(_html(annotator.get(f"/hit/{hit.pk}/")), f"{hit.batch.kind} HIT page")
        assert_inert(_html(Client().get(f"/hit/{hit.pk}/")), f"{hit.batch.kind} preview")


def test_it_escapes_a_reflected_turk_submit_to_and_worker_id(client, world):
    hit = world.contains_hit
    hit.batch.provider = "sandbox"
    hit.batch.save()
    params = {"assignmentId": "A-x", "workerId": PAYLOAD, "turkSubmitTo": PAYLOAD}
    response = client.get(f"/hit/{hit.pk}/", params)
    assert response.status_code == 400
    assert_inert(response.content.decode(), "HIT error page")
    ok = client.get(f"/hit/{hit.pk}/", {"assignmentId": "A-y", "workerId": PAYLOAD})
    html = _html(ok)
    assert "<script>alert(1)" not in html and "<img src=x" not in html


def test_it_passes_page_data_to_javascript_through_json_script(world):
    html = _html(_as(world.annotator).get(f"/hit/{world.label1000_hit.pk}/"))
    assert 'type="application/json"' in html
    assert SCRIPT not in html and "\\u003C/script\\u003E" in html


def test_it_escapes_the_annotate_page(world):
    response = _as(world.annotator).get("/annotate/", follow=True)
    assert_inert(_html(response), "/annotate/")


def test_it_escapes_the_dashboard_and_its_drill_down(world):
    staff = _as(world.staff)
    name = world.dataset.name
    pages = {
        "dashboard index": "/dashboard/",
        "dataset dashboard": f"/dashboard/{name}/",
        "image drill-down": f"/dashboard/{name}/image/{world.image.pk}/",
        "label1000 report": f"/dashboard/{name}/label1000/",
        "models page": f"/dashboard/{name}/models/",
    }
    for where, url in pages.items():
        assert_inert(_html(staff.get(url)), where, shown=where != "dashboard index")


def test_it_passes_class_names_to_the_charts_as_escaped_json(world):
    html = _html(_as(world.staff).get(f"/dashboard/{world.dataset.name}/image/{world.image.pk}/"))
    spec = html[html.index('id="spec-sf"'):]
    spec = spec[:spec.index("</script>")]
    assert "\\u003Cscript\\u003E" in spec and "<script" not in spec


def test_it_serves_analysis_csv_as_an_attachment_not_html(world):
    response = _as(world.staff).get(f"/dashboard/{world.dataset.name}/analysis/objects.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")


def test_it_escapes_the_link_provider_pages(client, world):
    batch = world.link_batch
    start = client.get(f"/link/{batch.pk}/start/", {"PROLIFIC_PID": PAYLOAD})
    assert start.status_code == 302 and "<" not in start["Location"]
    assignment = Assignment.objects.get(worker__external_id=PAYLOAD)
    Assignment.objects.filter(pk=assignment.pk).update(status=Assignment.Status.SUBMITTED)
    done = client.post("/mturk/externalSubmit", {"assignmentId": assignment.provider_assignment_id})
    assert_inert(_html(done), "link completion page")
    refused = client.post("/mturk/externalSubmit", {"assignmentId": PAYLOAD})
    assert refused.status_code == 400 and "<script>alert(1)" not in refused.content.decode()


def test_it_escapes_every_admin_changelist_and_change_form(world):
    superuser = _as(world.superuser)
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        html = _html(superuser.get(changelist))
        for live in ("<script>alert(1)", "<img src=x"):
            assert live not in html, changelist
        obj = model_admin.get_queryset(_request(world.superuser)).order_by("-pk").first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            html = _html(superuser.get(change))
            for live in ("<script>alert(1)", "<img src=x"):
                assert live not in html, change


def test_the_admin_shows_the_payloads_escaped(world):
    superuser = _as(world.superuser)
    for url in ("/admin/annotation/labelclass/", "/admin/tasks/worker/",
                "/admin/annotation/image/"):
        assert_inert(_html(superuser.get(url)), url)


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request
