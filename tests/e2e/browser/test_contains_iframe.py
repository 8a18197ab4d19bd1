"""The CONTAINS HIT inside an iframe of another site (MTurk's worker site), with third-party cookies blocked.

The page's submission is authenticated by the signed token in its body, so it must work without any
cookie; the frame-ancestors rule decides which sites may frame it.
"""

from urllib.parse import quote, urlsplit

from annotation.models import ContainsJudgment
from tasks.models import Assignment
from tests.e2e.browser.helpers import published_contains_hit, screenshot, wait_for_images
from tests.mturk_sim import accept


def block_third_party_cookies(page, app: str) -> None:
    """Chromium's own third-party cookie restriction, plus a first-party cookie it must keep from the frame."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.setCookieControls", {
        "enableThirdPartyCookieRestriction": True,
        "disableThirdPartyCookieMetadata": True,
        "disableThirdPartyCookieHeuristics": True,
    })
    page.context.add_cookies([{"name": "sessionid", "value": "first-party-only", "domain": urlsplit(app).hostname,
                               "path": "/", "sameSite": "None", "secure": True}])


def test_it_works_framed_by_another_site_without_cookies(simulator, worker_site, settings, open_page, app):
    sim_url, _ = simulator
    settings.RELABEL_MTURK_SUBMIT_HOSTS = [sim_url, worker_site]
    hit = published_contains_hit(tiles=4)
    accepted = accept(sim_url, hit.provider_hit_id, "AWORKERFRAMED1")
    page = open_page()
    block_third_party_cookies(page, app)
    first_party = page.goto(f"{app}/")
    assert "sessionid=first-party-only" in first_party.request.all_headers()["cookie"]  # the cookie exists...
    page.goto(f"{worker_site}/?src={quote(accepted['url'], safe='')}")
    frame = page.locator("#task").element_handle().content_frame()
    frame.locator("#grid .tile").first.wait_for()
    wait_for_images(frame, "#grid img")
    assert frame.evaluate("document.cookie") == ""
    frame.locator("#grid .tile").nth(1).click()
    frame.locator("#grid .tile").nth(2).click()
    frame.locator("h1").hover()  # close the hover zoom before the screenshot
    screenshot(page, "contains-in-iframe")

    frame.locator("#submit").click()
    frame.wait_for_url(f"{sim_url}/mturk/externalSubmit")
    assert "was submitted" in frame.locator("body").inner_text()
    assignment = Assignment.objects.get(provider_assignment_id=accepted["assignmentId"])
    assert assignment.status == Assignment.Status.SUBMITTED
    chosen = set(hit.items.filter(position__in=[1, 2]).values_list("image_id", flat=True))
    stored = ContainsJudgment.objects.filter(assignment=assignment)
    assert stored.count() == 4 and set(stored.filter(selected=True).values_list("image_id", flat=True)) == chosen

    framed = [request for request in page.relabel_log.requests
              if request.url.startswith(f"{app}/") and request.frame != page.main_frame]
    assert any(request.method == "POST" and request.url.endswith("/submit/") for request in framed)
    assert all("cookie" not in request.all_headers() for request in framed), "...but never reaches the framed app"
    assert page.relabel_log.problems(origin=app) == []


def test_it_refuses_to_be_framed_by_a_site_not_allowed(simulator, worker_site, open_page, app):
    sim_url, _ = simulator  # RELABEL_MTURK_SUBMIT_HOSTS lists the simulator only, not the worker site
    hit = published_contains_hit(tiles=2)
    accepted = accept(sim_url, hit.provider_hit_id, "AWORKERFRAMED2")
    page = open_page()
    with page.expect_response(lambda response: response.url.startswith(f"{app}/hit/")) as loaded:
        page.goto(f"{worker_site}/?src={quote(accepted['url'], safe='')}")
    policy = loaded.value.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://www.mturk.com" in policy and worker_site not in policy
    for _ in range(50):  # Chromium reports the refusal on the console, shortly after the load
        if any("frame-ancestors" in error for error in page.relabel_log.console_errors):
            break
        page.wait_for_timeout(100)
    assert any("frame-ancestors" in error for error in page.relabel_log.console_errors)
    assert page.locator("#task").element_handle().content_frame().locator("#grid").count() == 0
