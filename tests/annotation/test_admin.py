import pytest

from annotation.importer import import_images
from annotation.taxonomy import load_taxonomy
from tests.factories import UserFactory
from tests.images import write_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def test_classes_are_searchable_by_name_wnid_and_definition(staff_client):
    load_taxonomy()
    assert "n01440764" in staff_client.get("/admin/annotation/labelclass/?q=tench").content.decode()
    assert "tench" in staff_client.get("/admin/annotation/labelclass/?q=n01440764").content.decode()
    assert "tench" in staff_client.get("/admin/annotation/labelclass/?q=Tinca").content.decode()


def test_images_list_shows_thumbnails_and_filters(staff_client, tmp_path):
    load_taxonomy()
    write_image(tmp_path / "n01440764_a.jpg")
    import_images("admin-ds", tmp_path)
    page = staff_client.get("/admin/annotation/image/?original_label__superclass=Reptiles%2C+fish%2C+amphibians")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'src="/media/thumbnails/' in html and "n01440764_a.jpg" in html
    assert staff_client.get("/admin/annotation/dataset/").status_code == 200
