"""Hostile clients against the live site (gunicorn, DEBUG off, PostgreSQL): invented work never counts, places
cannot be hoarded, expired work is refused, parallel first loads agree (issue 19, items 1-3 and 11)."""

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from urllib.parse import urlencode

from tests.integrity import mturk_visit, page_config
from tests.security.live import Browser, LiveSite

SETUP = """
from django.utils import timezone
from annotation.models import Dataset, Image, LabelClass
from tasks.models import Batch, Hit, HitItem
name = {name!r}
label = LabelClass.objects.create(index={index}, wnid=name[:16], name=name, superclass="test")
dataset = Dataset.objects.create(name=name)
batch = Batch.objects.create(dataset=dataset, kind="contains", provider={provider!r}, assignments_per_hit={places},
                             status="published", options={options!r})
hit = Hit.objects.create(batch=batch, label=label, status="published", published_at=timezone.now())
image = Image.objects.create(dataset=dataset, external_id="only.jpg", original_label=label)
HitItem.objects.create(hit=hit, image=image, position=0)
result = {{"hit": hit.pk, "batch": batch.pk, "image": image.pk, "dataset": dataset.pk}}
"""
STORED = """
from annotation.models import ContainsJudgment
from tasks.models import Assignment, Worker
result = [Worker.objects.count(), Assignment.objects.count(), ContainsJudgment.objects.count(),
          list(Assignment.objects.order_by("pk").values_list("status", "confirmation"))]
"""


def _make_hit(site: LiveSite, provider: str = "sandbox", places: int = 3, **options) -> dict:
    name = f"live-{uuid.uuid4().hex[:12]}"
    index = 10_000 + uuid.uuid4().int % 1_000_000
    return site.run(SETUP.format(name=name, index=index, provider=provider, places=places, options=options))


def _browser(site: LiveSite) -> tuple[Browser, dict[str, str]]:
    """A visitor with an address of its own (the proxy's X-Forwarded-For), so tests never share a rate limit."""
    return site.browser(), {"X-Forwarded-For": f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}


def test_it_never_counts_answers_of_invented_assignments(live_site):
    made = _make_hit(live_site, places=3)
    live_site.run(f"""
from annotation.models import ContainsJudgment
from tasks.models import Assignment, Worker
worker = Worker.objects.create(provider="sandbox", external_id="AGENUINE{made['hit']}")
genuine = Assignment.objects.create(hit_id={made['hit']}, worker=worker, status="submitted",
                                    provider_assignment_id="GENUINE{made['hit']}", confirmation="confirmed")
ContainsJudgment.objects.create(assignment=genuine, image_id={made['image']}, label_id=genuine.hit.label_id,
                                selected=False)
""")
    browser, headers = _browser(live_site)
    statuses = []
    for n in range(20):
        page = browser.get(f"/hit/{made['hit']}/?" + urlencode(mturk_visit(f"FAKE{made['hit']}-{n}", f"AFAKE{n}")),
                           headers=headers)
        statuses.append(page.status)
        if page.status == 200:
            body = {"token": page_config(page.text)["token"], "selected": [made["image"]]}
            assert browser.post(f"/hit/{made['hit']}/submit/", body, headers=headers).status == 200
        else:
            assert "already has all the answers it needs" in page.text
    assert statuses == [200] * 4 + [409] * 16  # 3 places + a margin of 2, one held by the genuine worker
    result = live_site.run(f"""
from analytics.models import SelectionFrequency
from analytics.services import aggregate_selection_frequencies
from annotation.models import Dataset
from tasks.models import Assignment
aggregate_selection_frequencies(Dataset.objects.get(pk={made['dataset']}))
sf = SelectionFrequency.objects.get(image_id={made['image']})
invented = Assignment.objects.filter(provider_assignment_id__startswith="FAKE{made['hit']}-")
result = [sf.n_selected, sf.n_shown, sorted(set(invented.values_list("status", "confirmation")))]
""")
    assert result == [0, 1, [["submitted", "unconfirmed"]]]


def test_it_answers_parallel_first_loads_of_one_assignment_with_that_assignment(live_site):
    made = _make_hit(live_site)
    path = f"/hit/{made['hit']}/?" + urlencode(mturk_visit(f"RACE{made['hit']}", f"ARACE{made['hit']}"))
    barrier = Barrier(20)
    _, headers = _browser(live_site)

    def load(_: int) -> tuple[int, str | None]:
        browser = live_site.browser()
        barrier.wait()
        page = browser.get(path, headers=headers)
        return page.status, page_config(page.text)["assignmentId"] if page.status == 200 else page.text[-300:]

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(load, range(20)))
    assert answers == [(200, f"RACE{made['hit']}")] * 20
    stored = live_site.run(
        f"from tasks.models import Assignment\nresult = Assignment.objects.filter(hit_id={made['hit']}).count()"
    )
    assert stored == 1


def test_it_rate_limits_starts_from_one_address_and_stores_nothing_for_refused_ones(live_site):
    made = _make_hit(live_site, provider="link", places=200, completion_code="LIVECODE")
    browser, headers = _browser(live_site)
    answers = {}
    for n in range(70):  # 30 per address and window, counted by each of the 2 web processes at most
        participant = f"P{made['batch']}-{n}"
        answers[participant] = browser.get(f"/link/{made['batch']}/start/?PROLIFIC_PID={participant}", headers=headers)
    refused = [p for p, response in answers.items() if response.status == 429]
    started = [p for p, response in answers.items() if response.status == 302]
    assert refused and len(started) + len(refused) == 70 and len(started) <= 60
    assert all(int(answers[p].headers["Retry-After"]) > 0 and "too many new assignments" in answers[p].text
               for p in refused)
    stored = live_site.run(f"""
from tasks.models import Assignment
result = sorted(Assignment.objects.filter(hit__batch_id={made['batch']}).values_list("worker__external_id", flat=True))
""")
    assert stored == sorted(started)


def test_it_frees_the_place_of_an_overdue_assignment(live_site):
    made = _make_hit(live_site, provider="link", places=1, completion_code="LIVECODE")
    browser, headers = _browser(live_site)
    first = f"/link/{made['batch']}/start/?PROLIFIC_PID=PFIRST{made['batch']}"
    second = f"/link/{made['batch']}/start/?PROLIFIC_PID=PSECOND{made['batch']}"
    assert browser.get(first, headers=headers).status == 302
    taken = browser.get(second, headers=headers)
    assert taken.status == 400 and "all the work of this study is taken" in taken.text
    abandoned = live_site.run(f"""
from datetime import timedelta
from django.utils import timezone
from tasks.models import Assignment
from tasks.timeouts import abandon_overdue
Assignment.objects.filter(hit__batch_id={made['batch']}).update(accepted_at=timezone.now() - timedelta(hours=2))
result = abandon_overdue()
""")
    assert abandoned >= 1
    assert browser.get(second, headers=headers).status == 302


def test_it_refuses_work_after_its_deadline_and_new_starts_on_an_expired_hit(live_site):
    made = _make_hit(live_site, assignment_duration_seconds=600)
    browser, headers = _browser(live_site)
    page = browser.get(f"/hit/{made['hit']}/?" + urlencode(mturk_visit(f"LATE{made['hit']}", "ALATE")), headers=headers)
    token = page_config(page.text)["token"]
    live_site.run(f"""
from datetime import timedelta
from django.utils import timezone
from tasks.models import Assignment, Batch, Hit
Assignment.objects.filter(hit_id={made['hit']}).update(accepted_at=timezone.now() - timedelta(minutes=11))
Hit.objects.filter(pk={made['hit']}).update(status="expired")
Batch.objects.filter(pk={made['batch']}).update(status="expired")
""")
    before = live_site.run(STORED)
    late = browser.post(f"/hit/{made['hit']}/submit/", {"token": token, "selected": [made["image"]]}, headers=headers)
    assert late.status == 410 and "time ran out" in late.json()["detail"]
    fresh = browser.get(f"/hit/{made['hit']}/?" + urlencode(mturk_visit(f"NEW{made['hit']}", "ANEW")), headers=headers)
    assert fresh.status == 410 and "has expired" in fresh.text
    assert live_site.run(STORED) == before


def _logged_in(site: LiveSite, username: str) -> Browser:
    """A browser logged in through the login form, as an annotator would (CSRF cookie, token and origin)."""
    password = uuid.uuid4().hex
    site.run("from django.contrib.auth.models import User\n"
             f"User.objects.create_user({username!r}, password={password!r})")
    browser = site.browser()
    form = browser.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    origin = site.base.replace("http://", "https://")
    done = browser.post("/accounts/login/", body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": origin, "Referer": origin + "/accounts/login/",
    })
    assert done.status == 302, done.text[-500:]
    return browser


def test_a_local_account_cannot_take_more_than_its_share_of_open_assignments(live_site):
    hits = [_make_hit(live_site, provider="local", places=9)["hit"] for _ in range(4)]
    browser = _logged_in(live_site, f"annotator-{uuid.uuid4().hex[:8]}")
    assert [browser.get(f"/hit/{hit}/").status for hit in hits[:3]] == [200, 200, 200]
    before = live_site.run(STORED)
    refused = browser.get(f"/hit/{hits[3]}/")
    assert refused.status == 409 and "unfinished HITs" in refused.text
    assert live_site.run(STORED) == before
