import pytest

from tests.factories import LabelClassFactory
from tests.hitdata import classify_hit, images

pytestmark = pytest.mark.django_db
MTURK = {"hitId": "H", "workerId": "W", "assignmentId": "A", "turkSubmitTo": "https://www.mturk.com"}


def test_it_renders_each_image_with_its_candidate_labels_and_the_instructions(client):
    LabelClassFactory(index=20, name="car wheel", lemmas=["car wheel"], definition="a wheel of a car",
                      wikipedia="https://en.wikipedia.org/wiki/Car_wheel")
    LabelClassFactory(index=21, name="sports car", lemmas=["sports car", "sport car"], definition="a fast car")
    picture = images(1)[0]
    hit = classify_hit({picture: [21, 20]})
    html = client.get(f"/hit/{hit.pk}/", MTURK).content.decode()
    assert f'data-image="{picture.pk}"' in html
    assert "sports car, sport car" in html and "a fast car" in html and "a wheel of a car" in html
    assert 'href="https://en.wikipedia.org/wiki/Car_wheel"' in html
    assert html.count('class="valid"') == 2
    assert html.count('class="main"') == 2 and html.count("disabled aria-label=\"main object") == 2
    assert "DISTINCT" in html.upper() and "car wheel" in html and "one breed per dog" in html
    assert html.index('value="21"') < html.index('value="20"')  # offered order kept
