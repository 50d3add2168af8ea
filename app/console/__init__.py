"""The web console: server-rendered pages over the same services, tokens and roles as the API.

No CDN, no build step: Jinja templates, one stylesheet, pictures drawn by `app/render` inlined as SVG,
and one small script of its own (static/time.js: times in the viewer's zone, auto-refresh where things
move; every page works without it). The Content-Security-Policy allows styles and scripts from 'self'
and nothing else. A login page takes an API token and keeps it in an HttpOnly, SameSite=Strict cookie;
every form that changes something carries a CSRF token derived from that cookie.
Pages: pages.py (the blueprint, filters, error pages, login), changes_page.py (changes, one change, approve,
queue, approvals), components_page.py, work.py (start, request, cancel, roll back, log, transitions),
cypher.py (operators' read-only Cypher), drift_page.py, rules_page.py (the policy rules, read-only).
"""

from app.console import (  # noqa: F401  (they add their routes to blp)
    changes_page,
    components_page,
    cypher,
    drift_page,
    rules_page,
    work,
)
from app.console.pages import blp, unrouted

__all__ = ["blp", "unrouted"]
