"""`karma rules reload` authenticates (KARMA_TOKEN, else the local admin token file) and reports a 401 as
a 401, not as "cannot reach the service" (issue 11, item 12)."""

from __future__ import annotations


from tests.integration.conftest import karma


def reload(service_env, url, **env):
    """`karma rules reload` with `env` over the service's (None: that variable unset)."""
    merged = {k: v for k, v in {**service_env, **env}.items() if v is not None}
    proc = karma(merged, "rules", "reload", "--url", url)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode(), err.decode()


def test_rules_reload_sends_the_token(gunicorn_url, service_env, auth_headers, tmp_path):
    token = auth_headers["Authorization"][7:]
    code, out, err = reload(service_env, gunicorn_url, KARMA_TOKEN=token)
    assert code == 0, err
    assert out.startswith("reloaded")

    token_file = tmp_path / "admin-token"
    token_file.write_text(token + "\n")
    code, out, _ = reload(service_env, gunicorn_url, KARMA_TOKEN=None, KARMA_ADMIN_TOKEN_FILE=str(token_file))
    assert code == 0 and out.startswith("reloaded")
    # a blank KARMA_TOKEN (an empty token file) is refused, never replaced by the local admin token
    code, out, err = reload(service_env, gunicorn_url, KARMA_TOKEN=" ", KARMA_ADMIN_TOKEN_FILE=str(token_file))
    assert code == 1 and not out and "KARMA_TOKEN is set but empty" in err


def test_rules_reload_reports_401_as_401(gunicorn_url, service_env, world, tmp_path):
    code, _, err = reload(service_env, gunicorn_url, KARMA_TOKEN=None, KARMA_ADMIN_TOKEN_FILE=str(tmp_path / "missing"))
    assert code != 0 and "401" in err and "cannot reach" not in err
    assert "KARMA_TOKEN" in err
    code, _, err = reload(service_env, gunicorn_url, KARMA_TOKEN="karma_wrong")
    assert code != 0 and "401" in err and "refused" in err
    code, _, err = reload(service_env, "http://127.0.0.1:9", KARMA_TOKEN="karma_x")
    assert code != 0 and "cannot reach" in err
