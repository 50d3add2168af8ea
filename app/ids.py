"""Identifiers Karma mints: `<prefix>-<12 hex>` (chg-…, log-…, tok-…). At the bottom of the tree, so
every package may use it without importing upwards."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"
