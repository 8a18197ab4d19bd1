import pytest
from django.core.exceptions import ImproperlyConfigured

from relabel.env import env_bool, env_int, env_list, env_str


def test_it_reads_typed_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL", False) is True
    assert env_int("X_INT", 0) == 42
    assert env_list("X_LIST", []) == ["a", "b", "c"]
    assert env_bool("X_MISSING", True) is True


@pytest.mark.parametrize("name, value, reader", [("X_BOOL", "maybe", env_bool), ("X_INT", "4x", env_int)])
def test_it_fails_loudly_on_bad_values(monkeypatch, name, value, reader):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        reader(name, 0)


def test_a_secret_file_wins_over_the_variable(monkeypatch, tmp_path):
    (tmp_path / "key").write_text("from-file\n")
    monkeypatch.setenv("X_SECRET", "from-env")
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "key"))
    assert env_str("X_SECRET") == "from-file"
