"""The web console: server-rendered pages over the same services, tokens and roles as the API.

No script, no CDN, no build step: Jinja templates, one stylesheet, pictures drawn by `app/render`
inlined as SVG, and a Content-Security-Policy that allows styles from 'self' and nothing else.
A login page takes an API token and keeps it in an HttpOnly, SameSite=Strict cookie; the forms that
change something (approve, deny, log out) carry a CSRF token derived from that cookie.
"""

from app.console import drift_page  # noqa: F401 - registers /console/drift on the console blueprint
from app.console.pages import blp

__all__ = ["blp"]
