"""A local annotator's next CONTAINS HIT replaces the submitted one inside the page (under the HIT pages' own CSP):
same document, new address, the new HIT's tiles, progress, confirmation and folded instructions, keyboard use,
focus on its heading; Back shows the server's page of the earlier HIT. A next HIT of another kind, or a
submission's answer without the next page, is opened by navigating, as before."""


from annotation.models import ContainsJudgment
from tasks.models import Assignment, Hit, HitItem, Provider
from tests.e2e.browser.helpers import DESKTOP, image_with_files, submit_login, wait_for_images
from tests.factories import DatasetFactory, LabelClassFactory, UserFactory
from tests.hitdata import classify_hit, contains_hit

PASSWORD = "correct horse battery staple"


def _local_contains_batch(hits: int, tiles: int = 4) -> list[Hit]:
    dataset = DatasetFactory(name="in-place")
    label = LabelClassFactory(index=1, name="goldfish", lemmas=["goldfish"])
    pictures = [image_with_files(dataset, label, i) for i in range(hits * tiles)]
    first = contains_hit(label, pictures[:tiles], provider=Provider.LOCAL)
    batch = [first]
    for n in range(1, hits):
        hit = Hit.objects.create(batch=first.batch, label=label, status=Hit.Status.PUBLISHED)
        HitItem.objects.bulk_create([HitItem(hit=hit, image=image, position=i)
                                     for i, image in enumerate(pictures[n * tiles:(n + 1) * tiles])])
        batch.append(hit)
    return batch


def _open_first_hit(page, app: str, first: Hit) -> None:
    """Log in as a local annotator, land on `first`, and mark the document (see _same_document)."""
    UserFactory(username="ann")
    page.goto(f"{app}/annotate/")
    submit_login(page, "ann", PASSWORD)
    page.wait_for_url(f"{app}/hit/{first.pk}/")
    page.evaluate("() => { window.relabelTestMarker = true; }")


def _tile_images(page) -> list[int]:
    return [int(value) for value in page.locator("#grid .tile").evaluate_all("all => all.map(t => t.dataset.image)")]


def _same_document(page) -> bool:
    return page.evaluate("() => window.relabelTestMarker === true")


def test_it_shows_the_next_contains_hit_in_the_same_page(app, open_page):
    first, second, third = _local_contains_batch(3)
    page = open_page(viewport=DESKTOP)
    _open_first_hit(page, app, first)
    wait_for_images(page, "#grid img")

    page.locator("#grid .tile").nth(1).click()
    page.locator("#submit").click()
    page.wait_for_url(f"{app}/hit/{second.pk}/")
    assert _same_document(page)
    assert _tile_images(page) == list(second.items.order_by("position").values_list("image_id", flat=True))
    wait_for_images(page, "#grid img")
    assert page.title() == "Select every image with goldfish"
    assert "HIT 1 submitted" in page.locator("#flash").inner_text()
    assert page.locator(".hit-progress").inner_text().startswith("HIT 2 of 3")
    assert page.locator("details.instructions").get_attribute("open") is None
    assert page.evaluate("() => document.activeElement.tagName") == "H1"
    assert page.locator("#count").inner_text() == "0"

    page.locator("#grid .tile").nth(0).focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    assert page.locator("#count").inner_text() == "1"
    page.locator("#submit").click()
    page.wait_for_url(f"{app}/hit/{third.pk}/")
    assert _same_document(page) and "HIT 2 submitted" in page.locator("#flash").inner_text()

    page.go_back()
    page.get_by_text("already been submitted").wait_for()  # the server's page of the submitted second HIT
    assert page.url == f"{app}/hit/{second.pk}/" and not _same_document(page)

    assignments = Assignment.objects.filter(worker__user__username="ann").order_by("hit_id")
    assert [(a.hit_id, a.status) for a in assignments] == [
        (first.pk, Assignment.Status.SUBMITTED), (second.pk, Assignment.Status.SUBMITTED),
        (third.pk, Assignment.Status.ACCEPTED)]
    chosen = ContainsJudgment.objects.filter(selected=True).order_by("assignment__hit_id")
    assert list(chosen.values_list("image_id", flat=True)) == [
        first.items.get(position=1).image_id, second.items.get(position=1).image_id]
    assert page.relabel_log.problems() == []


def test_it_navigates_to_a_next_hit_of_another_kind(app, open_page):
    (first,) = _local_contains_batch(1)
    for index in (2, 3):
        LabelClassFactory(index=index)
    following = classify_hit({image_with_files(first.batch.dataset, first.label, 9): [1, 2, 3]},
                             provider=Provider.LOCAL)
    page = open_page(viewport=DESKTOP)
    _open_first_hit(page, app, first)
    page.locator("#grid .tile").nth(0).click()
    page.locator("#submit").click()
    page.wait_for_url(f"{app}/hit/{following.pk}/")
    page.locator(".classify-item").first.wait_for()
    assert not _same_document(page)
    assert "HIT 1 submitted" in page.locator("#flash").inner_text()
    assert page.relabel_log.problems() == []


def test_it_navigates_when_the_submissions_answer_carries_no_page(app, open_page):
    first, second = _local_contains_batch(2)
    page = open_page(viewport=DESKTOP)

    def without_the_page(route):
        answer = route.fetch()
        body = answer.json()
        assert body.pop("nextPage").startswith("<!doctype html>")
        route.fulfill(response=answer, json=body)

    page.route(f"{app}/hit/{first.pk}/submit/", without_the_page)
    _open_first_hit(page, app, first)
    page.locator("#grid .tile").nth(0).click()
    page.locator("#submit").click()
    page.wait_for_url(f"{app}/hit/{second.pk}/")
    page.locator(".hit-progress").wait_for()
    assert not _same_document(page)
    assert _tile_images(page) == list(second.items.order_by("position").values_list("image_id", flat=True))
    assert page.locator(".hit-progress").inner_text().startswith("HIT 2 of 2")
    assert Assignment.objects.filter(hit=second, worker__user__username="ann").count() == 1
