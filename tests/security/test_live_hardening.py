"""Issue 19 (h19b's items) against the live site: gunicorn, DEBUG off, PostgreSQL, real HTTP.

CSV exports neutralise formulas (PostgreSQL's own export path), deep JSON is a 400 and stores nothing,
the home page names no dataset to visitors, the API answers staff an empty list on a fresh install,
and logins are throttled with a clear message.
"""

import csv
import io
import re
import urllib.parse

import pytest

from tests.security.live import Browser, LiveSite, Response

pytestmark = pytest.mark.postgres

DEEP = ("[" * 1000 + "]" * 1000).encode()


def _staff_token(live_site: LiveSite, username: str) -> str:
    return live_site.run(
        "from django.contrib.auth import get_user_model\nfrom rest_framework.authtoken.models import Token\n"
        f"user = get_user_model().objects.create_user({username!r}, password='staff-pass-1', is_staff=True, "
        "is_superuser=True)\n"
        "result = Token.objects.create(user=user).key"
    )


def _counts(live_site: LiveSite) -> dict:
    return live_site.run(
        "from annotation.models import ClassifyResponse, ContainsJudgment, Dataset\n"
        "from label1000.models import Label1000Response\n"
        "from tasks.models import Assignment, Worker\n"
        "result = {m.__name__: m.objects.count() for m in "
        "(ClassifyResponse, ContainsJudgment, Label1000Response, Dataset, Assignment, Worker)}"
    )


def _csrf_token(browser: Browser) -> str:
    page = browser.get("/accounts/login/")
    assert page.status == 200, (page.status, page.headers, page.text[:500])
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def _log_in(browser: Browser, base: str, csrf: str, username: str, password: str) -> Response:
    """The login form, as a browser posts it (CSRF cookie and token, HTTPS Referer)."""
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "username": username, "password": password})
    referer = base.replace("http://", "https://") + "/accounts/login/"
    return browser.post("/accounts/login/", body.encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Referer": referer})


def test_the_api_answers_a_superuser_an_empty_list_on_a_fresh_install(live_site):
    token = _staff_token(live_site, "h19b-fresh-root")
    existing = live_site.run("from annotation.models import Dataset\nresult = Dataset.objects.count()")
    response = live_site.browser().get("/api/v1/datasets/", headers={"Authorization": f"Token {token}"})
    assert response.status == 200, response.text[:300]
    assert len(response.json()["results"]) == existing  # [] when this runs first on the session's site


def test_the_home_page_names_no_dataset_to_visitors(live_site):
    live_site.run("from annotation.models import Dataset\nDataset.objects.create(name='h19b-private-benchmark')")
    home = live_site.browser().get("/")
    assert home.status == 200 and "Relabel" in home.text
    assert "h19b-private-benchmark" not in home.text


def test_csv_exports_neutralise_formulas_in_worker_ids_and_file_names(live_site):
    token = _staff_token(live_site, "h19b-exporter")
    live_site.run(
        "from annotation.models import ContainsJudgment, Dataset, Image, LabelClass\n"
        "from tasks.models import Assignment, Batch, Hit, Worker\n"
        "dataset = Dataset.objects.create(name='h19b-formulas')\n"
        "label = LabelClass.objects.create(index=9001, wnid='n90000001', name='=cmd', superclass='x')\n"
        "batch = Batch.objects.create(dataset=dataset, kind='contains', name='b', key='h19b-formulas')\n"
        "hit = Hit.objects.create(batch=batch, label=label)\n"
        "worker = Worker.objects.create(provider='mturk', external_id=\"=HYPERLINK(\\\"http://evil\\\")\")\n"
        "a = Assignment.objects.create(hit=hit, worker=worker, status='approved', confirmation='confirmed')\n"
        "for name in ('-2+3.jpg', '@SUM(A1).jpg', 'plain.jpg'):\n"
        "    image = Image.objects.create(dataset=dataset, external_id=name, original_label=label)\n"
        "    ContainsJudgment.objects.create(assignment=a, image=image, label=label, selected=True)\n"
    )
    try:
        response = live_site.browser().get("/api/v1/datasets/h19b-formulas/export/contains.csv?raw_worker_ids=1",
                                           headers={"Authorization": f"Token {token}"})
    finally:  # the site is shared: leave no batch behind
        live_site.run("from annotation.models import Dataset\nDataset.objects.filter(name='h19b-formulas').delete()")
    assert response.status == 200, response.text[:300]
    header, *rows = list(csv.reader(io.StringIO(response.text)))
    assert header == ["image", "label", "worker", "selected"]
    assert [row[0] for row in rows] == ["'-2+3.jpg", "'@SUM(A1).jpg", "plain.jpg"]
    assert {row[2] for row in rows} == {"'=HYPERLINK(\"http://evil\")"}
    assert {row[1] for row in rows} == {"9001"}


def test_deep_json_is_a_400_with_a_message_and_stores_nothing(live_site):
    before = _counts(live_site)
    browser = live_site.browser()
    for path in ("/hit/1/submit/", "/hit/999999/submit/"):
        response = browser.post(path, DEEP)
        assert response.status == 400, response.text[:300]
        assert "levels deep" in response.json()["detail"]
    token = _staff_token(live_site, "h19b-deep")
    api = browser.post("/api/v1/datasets/", DEEP, headers={"Authorization": f"Token {token}"})
    assert api.status in (400, 405), api.text[:300]
    assert _counts(live_site) == before


def test_logins_are_throttled_with_a_clear_message(live_site):
    live_site.run("from django.contrib.auth import get_user_model\n"
                  "get_user_model().objects.create_user('h19b-ann', password='right-password-1')")
    browser = live_site.browser()
    csrf = _csrf_token(browser)
    try:
        statuses = [_log_in(browser, live_site.base, csrf, "h19b-ann", "wrong").status for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        refused = _log_in(browser, live_site.base, csrf, "h19b-ann", "right-password-1")
        assert refused.status == 429 and "Too many failed log-ins" in refused.text and "15 minutes" in refused.text
        assert live_site.run("from django.contrib.auth import get_user_model\n"
                             "result = get_user_model().objects.get(username='h19b-ann').last_login") is None
    finally:  # the site is shared: lift the lock on 127.0.0.1 for the tests that log in after this one
        live_site.run("from axes.utils import reset\nreset()")
    assert _log_in(browser, live_site.base, _csrf_token(browser), "h19b-ann", "right-password-1").status == 302
