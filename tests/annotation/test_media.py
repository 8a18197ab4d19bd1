import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tests.images import jpeg_bytes

pytestmark = pytest.mark.django_db


def test_it_serves_a_stored_image_with_its_type_and_nosniff(client):
    default_storage.save("thumbnails/1/ab/abc.jpg", ContentFile(jpeg_bytes()))
    response = client.get("/media/thumbnails/1/ab/abc.jpg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    ["x.html", "x.svg", "../../etc/passwd", "..%2f..%2fetc%2fpasswd.jpg", "%2e%2e/%2e%2e/secret.jpg", "missing.jpg"],
)
def test_it_never_serves_html_or_files_outside_media(client, path, tmp_path, settings):
    (tmp_path / "secret.jpg").write_bytes(jpeg_bytes())
    default_storage.save("x.html", ContentFile(b"<script>alert(1)</script>"))
    assert client.get(f"/media/{path}").status_code in (400, 404)
