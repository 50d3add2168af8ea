"""The token a CLI call sends (app.client.api.resolve_token): --token, KARMA_TOKEN, then the local admin
token file; a blank one is refused, never replaced by the admin token (it would act, and be audited, as
the local admin)."""

from __future__ import annotations

import pytest

from app.client import api


@pytest.fixture
def admin_file(tmp_path, monkeypatch):
    path = tmp_path / "admin-token"
    path.write_text("karma_admin\n")
    monkeypatch.setenv("KARMA_ADMIN_TOKEN_FILE", str(path))
    monkeypatch.delenv("KARMA_TOKEN", raising=False)
    return path


def test_the_order_is_flag_then_environment_then_the_admin_token_file(admin_file, monkeypatch):
    assert api.resolve_token(None) == "karma_admin"  # KARMA_ADMIN_TOKEN_FILE, as karma serve writes it
    monkeypatch.setenv("KARMA_TOKEN", " karma_ted\n")
    assert api.resolve_token(None) == "karma_ted"
    assert api.resolve_token("karma_eve") == "karma_eve"


@pytest.mark.parametrize("blank", ["", " ", "\n"])
def test_a_blank_token_is_refused_not_replaced_by_the_admin_token(admin_file, monkeypatch, blank):
    monkeypatch.setenv("KARMA_TOKEN", blank)
    with pytest.raises(api.EmptyToken, match="KARMA_TOKEN is set but empty"):
        api.resolve_token(None)
    with pytest.raises(api.EmptyToken, match="--token is empty"):
        api.resolve_token(blank)
