"""/docs serves Swagger UI from the installed package: no CDN, a CSP of 'self' only."""

from __future__ import annotations

import re


def test_docs_page_uses_only_local_assets(client):
    page = client.get("/docs", anonymous=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cdn" not in html.lower() and "https://" not in html
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe-inline" not in csp
    assert "http" not in csp
    assert "<script>" not in html  # no inline script: it would need 'unsafe-inline'
    srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in srcs)
    for src in srcs:
        asset = client.get(src, anonymous=True)
        assert asset.status_code == 200, src
        assert len(asset.get_data()) > 0


def test_docs_assets_are_a_fixed_set(client):
    assert client.get("/docs/assets/swagger-ui.css", anonymous=True).status_code == 200
    for name in ["../__init__.py", "index.j2", "nope.js", "..%2F..%2Fsettings.py"]:
        resp = client.get(f"/docs/assets/{name}", anonymous=True)
        assert resp.status_code == 404 and resp.is_json, name
