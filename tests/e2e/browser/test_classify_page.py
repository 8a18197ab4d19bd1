"""A worker answers a CLASSIFY HIT in Chromium: inconsistent answers are refused visibly, consistent ones stored."""

from annotation.models import ClassifyResponse
from tasks.models import Assignment, Provider
from tests.e2e.browser.helpers import image_with_files, screenshot, wait_for_images
from tests.factories import DatasetFactory, LabelClassFactory
from tests.hitdata import classify_hit

RETRIEVER, LABRADOR, BALL = 207, 208, 852


def make_hit():
    names = {
        RETRIEVER: ("golden retriever", "an English breed having a long silky golden coat"),
        LABRADOR: ("Labrador retriever", "breed originally from Labrador having a short black or golden-brown coat"),
        BALL: ("tennis ball", "a ball about the size of a fist used in playing tennis"),
    }
    labels = {index: LabelClassFactory(index=index, name=name, lemmas=[name], definition=definition)
              for index, (name, definition) in names.items()}
    dataset = DatasetFactory(name="browser-classify")
    dog = image_with_files(dataset, labels[RETRIEVER], 0)
    ball = image_with_files(dataset, labels[BALL], 1)
    hit = classify_hit({dog: [RETRIEVER, LABRADOR, BALL], ball: [BALL, RETRIEVER]}, provider=Provider.SIMULATOR)
    return hit, dog, ball


def test_it_refuses_inconsistent_answers_visibly_and_stores_a_consistent_one(app, open_page):
    hit, dog, ball = make_hit()
    page = open_page()
    page.goto(f"{app}/hit/{hit.pk}/?assignmentId=ACLASSIFY1&hitId=H1&workerId=AWORKERCLASSIFY")
    wait_for_images(page)
    first, second = page.locator(f'fieldset[data-image="{dog.pk}"]'), page.locator(f'fieldset[data-image="{ball.pk}"]')

    def box(item, index: int, kind: str = "valid"):
        return item.locator(f'input.{kind}[value="{index}"]')

    box(first, RETRIEVER).check()
    box(first, BALL).check()
    assert box(first, LABRADOR, "main").is_disabled()  # only ticked labels can be the main object
    page.locator("#submit").click()
    assert first.locator(".item-message").inner_text() == "Choose the main object among the labels you ticked."
    assert second.locator(".item-message").inner_text() == "Tick at least one valid label."
    assert page.locator("#status.error").is_visible()
    assert "2 image(s) need" in page.locator("#status").inner_text()
    page.locator("h1").scroll_into_view_if_needed()
    screenshot(page, "classify-refused")

    box(first, BALL, "main").check()
    box(first, BALL).uncheck()  # unticking the main object's label clears the main object
    assert not box(first, BALL, "main").is_checked() and box(first, BALL, "main").is_disabled()
    box(first, BALL).check()
    box(first, RETRIEVER, "main").check()
    box(second, BALL).check()
    box(second, BALL, "main").check()

    # The server checks too: a main object that is not among the ticked labels is refused, and said so.
    page.evaluate("""([dog, ball]) => window.RelabelHit.submit({answers: [
        {image: dog, selected: [207], main: 852}, {image: ball, selected: [852], main: 852}]})""", [dog.pk, ball.pk])
    page.locator("#status", has_text="the main object must be one of the selected labels").wait_for()
    assert page.locator("#status.error").is_visible()
    assert not ClassifyResponse.objects.exists()

    page.locator("#submit").click()
    page.locator("#status", has_text="Submitted. Thank you!").wait_for()
    assignment = Assignment.objects.get(provider_assignment_id="ACLASSIFY1")
    assert assignment.status == Assignment.Status.SUBMITTED
    stored = {r.image_id: (r.selected, r.main_label.index)
              for r in ClassifyResponse.objects.filter(assignment=assignment).select_related("main_label")}
    assert stored == {dog.pk: ([RETRIEVER, BALL], RETRIEVER), ball.pk: ([BALL], BALL)}
    refused = f"{app}/hit/{hit.pk}/submit/"
    assert [line for line in page.relabel_log.problems(origin=app) if refused not in line or "400" not in line] == []
