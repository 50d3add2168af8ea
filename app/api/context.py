"""Access to the services of the running app (set up by the app factory)."""

from __future__ import annotations

from flask import current_app


def services():
    return current_app.extensions["karma"]
