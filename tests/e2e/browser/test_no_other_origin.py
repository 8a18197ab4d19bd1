"""No page asks another origin for anything (no CDN, fonts, analytics): every request of every page kind,
scripts and charts included, goes to the app itself."""

from annotation.models import Image
from tasks.models import Provider
from tests.analytics.demo_data import build_demo_like
from tests.e2e.browser.helpers import attach_files, image_with_files, submit_login
from tests.e2e.browser.test_classify_page import make_hit as classify_hit
from tests.e2e.browser.test_label1000_page import published_label1000_hit
from tests.factories import LabelClassFactory, UserFactory
from tests.hitdata import contains_hit

PASSWORD = "correct horse battery staple"


def _log_in(page, app: str, username: str) -> None:
    page.goto(f"{app}/accounts/login/")
    submit_login(page, username, PASSWORD)
    page.wait_for_load_state("load")


def _visit(page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)  # charts and lazy images start their requests after load


def test_it_loads_every_page_from_its_own_origin_only(app, open_page, settings):
    settings.RELABEL_EXEMPLAR_DIR = ""
    dataset = build_demo_like()
    for index, image in enumerate(Image.objects.filter(dataset=dataset).order_by("pk")):
        attach_files(image, index)
    image = Image.objects.filter(dataset=dataset).first()
    label = LabelClassFactory(index=500, name="cliff")
    local = contains_hit(label, [image_with_files(dataset, label, 40 + i) for i in range(3)], provider=Provider.LOCAL)
    classify, _, _ = classify_hit()
    label1000 = published_label1000_hit()
    UserFactory(username="lead", is_staff=True)
    UserFactory(username="ann")

    staff = open_page()
    for url in ["/", "/accounts/login/"]:
        _visit(staff, f"{app}{url}")
    _log_in(staff, app, "lead")
    for url in ["/dashboard/", f"/dashboard/{dataset.name}/", f"/dashboard/{dataset.name}/image/{image.pk}/",
                f"/dashboard/{dataset.name}/label1000/", f"/dashboard/{dataset.name}/models/", "/api/docs/",
                f"/hit/{classify.pk}/"]:
        _visit(staff, f"{app}{url}")
    assert staff.locator(".vega-chart svg").count() == 0  # the last page is a HIT: charts were on the others

    worker = open_page()
    _visit(worker, f"{app}/hit/{classify.pk}/?assignmentId=AORIGIN1&hitId=H&workerId=WORIGIN")
    _visit(worker, f"{app}/hit/{label1000.pk}/?assignmentId=AORIGIN2&hitId=H&workerId=WORIGIN")
    annotator = open_page()
    _log_in(annotator, app, "ann")
    assert annotator.url == f"{app}/hit/{local.pk}/"

    for page in (staff, worker, annotator):
        urls = page.relabel_log.urls()
        assert urls and [url for url in urls if not url.startswith(f"{app}/")] == []
        assert page.relabel_log.problems() == []
