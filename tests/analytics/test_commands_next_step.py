"""Each pipeline command ends with the next step; aggregate explains the categories it prints."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.analytics.demo_data import build_demo_like

pytestmark = pytest.mark.django_db


def _run(*args: str, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_aggregate_explains_the_categories_and_points_at_the_results():
    dataset = build_demo_like()
    output = _run("aggregate", dataset=dataset.name)
    assert "categories: easy" in output
    assert "easy: only the original label is confident" in output and "amb: the original label was judged" in output
    assert f"Next: the dashboard at /dashboard/{dataset.name}/" in output


def test_load_taxonomy_points_at_import_images():
    assert "Next: python manage.py import_images" in _run("load_taxonomy")
