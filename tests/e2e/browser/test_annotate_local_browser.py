"""A local annotator in Chromium: log in, get the next HIT, finish it, get the next, until none is left."""

from annotation.models import ContainsJudgment
from tasks.models import Assignment, Provider
from tests.e2e.browser.helpers import image_with_files, screenshot, wait_for_images
from tests.factories import DatasetFactory, LabelClassFactory, UserFactory
from tests.hitdata import contains_hit

PASSWORD = "correct horse battery staple"


def test_it_walks_an_annotator_through_their_hits(app, open_page):
    dataset = DatasetFactory(name="browser-local")
    label = LabelClassFactory(index=1, name="goldfish", lemmas=["goldfish", "Carassius auratus"])
    first = contains_hit(label, [image_with_files(dataset, label, i) for i in range(3)], provider=Provider.LOCAL)
    second = contains_hit(label, [image_with_files(dataset, label, i) for i in range(3, 5)], provider=Provider.LOCAL)
    user = UserFactory(username="ann")

    page = open_page()
    page.goto(f"{app}/annotate/")
    assert page.url.startswith(f"{app}/accounts/login/")
    page.locator("#id_username").fill("ann")
    page.locator("#id_password").fill(PASSWORD)
    screenshot(page, "login")
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(f"{app}/hit/{first.pk}/")
    wait_for_images(page, "#grid img")
    page.locator("#grid .tile").nth(2).click()
    screenshot(page, "annotate-local-hit")

    page.locator("#submit").click()
    page.wait_for_url(f"{app}/hit/{second.pk}/")  # via /annotate/: the next HIT
    page.once("dialog", lambda dialog: dialog.accept())  # "no image selected: submit anyway?"
    page.locator("#submit").click()
    page.wait_for_url(f"{app}/annotate/")
    assert "All done" in page.locator("h1").inner_text()

    assignments = Assignment.objects.filter(worker__user=user, worker__provider=Provider.LOCAL).order_by("hit_id")
    assert [(a.hit_id, a.status) for a in assignments] == [
        (first.pk, Assignment.Status.SUBMITTED), (second.pk, Assignment.Status.SUBMITTED)]
    selected = ContainsJudgment.objects.filter(assignment__in=assignments, selected=True)
    assert list(selected.values_list("image_id", flat=True)) == [first.items.get(position=2).image_id]
    assert ContainsJudgment.objects.filter(assignment__in=assignments).count() == 5
    assert page.relabel_log.problems() == []
