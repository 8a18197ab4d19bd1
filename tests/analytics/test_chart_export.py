"""Server-side chart files for papers: ?chart=KEY&format=svg|png|pdf on every page with charts."""

import pytest
from django.urls import reverse

from annotation.models import Image
from tests.analytics.demo_data import build_demo_like
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MAGIC = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF"}


@pytest.fixture
def dataset():
    return build_demo_like()


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_it_renders_a_dashboard_chart_as_a_file(staff_client, dataset, fmt):
    url = reverse("analytics:dataset", args=[dataset.name])
    response = staff_client.get(url, {"chart": "cooccurrence", "format": fmt})
    assert response.status_code == 200
    assert response.content.startswith(MAGIC[fmt])
    assert response["Content-Disposition"] == f'attachment; filename="{dataset.name}-cooccurrence.{fmt}"'


def test_it_writes_class_names_into_the_exported_svg(staff_client, dataset):
    from annotation.models import LabelClass

    svg = staff_client.get(reverse("analytics:dataset", args=[dataset.name]),
                           {"chart": "cooccurrence", "format": "svg"}).content.decode()
    assert any(name in svg for name in LabelClass.objects.values_list("name", flat=True))


def test_it_renders_the_image_drill_down_chart(staff_client, dataset):
    image = Image.objects.filter(dataset=dataset).first()
    response = staff_client.get(reverse("analytics:image", args=[dataset.name, image.pk]),
                                {"chart": "sf", "format": "png"})
    assert response.status_code == 200 and response.content.startswith(MAGIC["png"])


def test_it_refuses_an_unknown_format_or_chart(staff_client, dataset):
    url = reverse("analytics:dataset", args=[dataset.name])
    bad = staff_client.get(url, {"chart": "objects", "format": "gif"})
    assert bad.status_code == 400 and b"svg, png, pdf" in bad.content
    assert staff_client.get(url, {"chart": "nope", "format": "svg"}).status_code == 404


def test_it_keeps_exports_for_staff(client, dataset):
    url = reverse("analytics:dataset", args=[dataset.name])
    client.force_login(UserFactory(username="annotator"))
    assert client.get(url, {"chart": "objects", "format": "svg"}).status_code == 403
