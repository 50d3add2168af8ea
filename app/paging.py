"""The bounds of a listing's pages, in one place: the API's `?page` / `?page_size` (app.api.schemas.PageArgs)
and the CLI's `--page` / `--page-size` (app.cli.common: PAGE, PAGE_SIZE_RANGE) read them here, so the CLI
refuses what the API would, naming its own option, and the two cannot drift apart. Light: no import of the
API's schemas."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# (page - 1) * page_size + page_size must stay a 32-bit integer: the lists filtered by component page by
# slicing a collected list (cypher/log_list_component.cypher, …), whose indexes Neo4j takes as int32 only
# (GET /log?component=…&page=999999999 was a 500); 4,000,000 pages of 500 is two billion entries
MAX_PAGE = 4_000_000
MAX_PAGE_SIZE = 500
PAGE_SIZE = 50  # a page's size when none is asked for


def page_count(total: int, size: int) -> int:
    """How many pages a list of `total` entries takes, `size` a page: at least one (an empty list's). The
    console's lists and the CLI's page footers both say it."""
    return max(1, -(-total // size))


# A listing filtered by what no count store keeps (a status, a requester, a time range) counts its matches
# only so far: through its page and this many pages past it. Counting them all read every matching entry
# on every page (a log of 60,000: all of them, for each page of 50). Beyond it the answer's `total` is a
# lower bound (`total_is_lower_bound`); a pager still shows every page up to it and a next one after.
PAGES_COUNTED_AHEAD = 10


def counted_up_to(skip: int, limit: int) -> int:
    """How many matches a filtered page reads and counts: its own, those before it, PAGES_COUNTED_AHEAD pages'
    more."""
    return skip + limit * (1 + PAGES_COUNTED_AHEAD)


def bounded_total(*, every: int, counted: int, up_to: int, filtered: bool) -> dict:
    """A listing's `total` and `total_is_lower_bound`: `every` (the count store's, exact) when nothing
    filters, else the `counted` matches — a lower bound when the counting stopped at `up_to`."""
    if not filtered:
        return {"total": every, "total_is_lower_bound": False}
    return {"total": counted, "total_is_lower_bound": counted >= up_to}


# A keyset cursor (`?after=` of GET /log and GET /changes, `next_after` of their answers): the page after an
# item starts from that item's place in the index — its time and id — so page 1,200 costs what page 1 does;
# `?page=` skips every entry before it. Written `<microseconds since 1970, UTC>~<id>`: every text of that
# shape (CURSOR_PATTERN, which the OpenAPI document gives) is a time Neo4j and Python can hold.
CURSOR_PATTERN = r"^[0-9]{1,17}~[A-Za-z0-9._-]{1,100}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cursor(at: str, item_id: str) -> str:
    """The `after` that asks for what follows an item (its time as the answer shows it, RFC 3339, and its id)."""
    micros = (datetime.fromisoformat(at.replace("Z", "+00:00")) - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}~{item_id}"


def after(token: str) -> tuple[datetime, str]:
    """A cursor → (time, id); ValueError when the text is none (CURSOR_PATTERN)."""
    if not _CURSOR.match(token):
        raise ValueError("not a cursor")
    micros, item_id = token.split("~", 1)
    return _EPOCH + timedelta(microseconds=int(micros)), item_id


def next_after(found: dict, skip: int, at_key: str) -> str | None:
    """The cursor of the page after `found` (a newest-first page: total, total_is_lower_bound, items), or
    None when nothing follows it."""
    items = found["items"]
    more = found["total_is_lower_bound"] or found["total"] > skip + len(items)
    return cursor(items[-1][at_key], items[-1]["id"]) if items and more else None
