"""Operators' Cypher under their own token (the console's Cypher page): the `ops_*.cypher` library and,
for admins, ad-hoc text — each run in a READ transaction (Neo4j refuses any write in it) that the server
ends after `SECONDS`, at most `MAX_ROWS` rows read, and each run audited (kind `query`) before its
answer is shown. Neo4j Browser logs in as the database's admin, whose writes bypass the gate: this
page is how an operator reads the graph without that password.

Ad-hoc text is open to every role that reads, with one bound beyond admins': the graph also holds
webhook secrets (`Subscription`) and token hashes (`ApiToken`), on nodes no relationship reaches. So a
non-admin's query is planned first (EXPLAIN, nothing runs) and refused when its plan starts from those
labels or from nodes it cannot name by label (a scan of all nodes, a seek by internal id) — the only
ways to reach them. Text that names procedures outside the read-only `db.` namespace, `LOAD CSV`, `USE`
(another database) or a write clause is refused before it is sent, with the reason.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from neo4j.exceptions import ClientError

from app import json_strict
from app.audit.entries import audit_entry
from app.audit.statuses import QUERY_OK, REFUSED
from app.clock import utcnow
from app.errors import Forbidden, Unprocessable
from app.graph import library
from app.graph.repository import GraphRepository
from app.ids import new_id

SECONDS = 5.0
MAX_ROWS = 1000
MAX_TEXT = 20_000
WRITES = re.compile(
    r"\b(CREATE|MERGE|DELETE|DETACH|SET|REMOVE|DROP|FOREACH|LOAD\s+CSV|GRANT|DENY|REVOKE|ALTER|TERMINATE|USE)\b"
    r"|\bCALL\s+(?!db\.)[A-Za-z_]+\.|\bdbms\.",
    re.IGNORECASE,
)
SECRET_LABELS = ("ApiToken", "Subscription")
_SECRET_LABEL = re.compile(r"\b(" + "|".join(SECRET_LABELS) + r")\b")
UNNAMED_START = ("AllNodesScan", "PartitionedAllNodesScan", "NodeByIdSeek", "NodeByElementIdSeek")
REACH_REFUSED = (
    "an ad-hoc query for your role must start from labelled nodes, never tokens or webhook subscriptions "
    "(its plan has {what}); start from a label, e.g. MATCH (c:Component {{id: $id}})"
)
WRITE_REFUSED = (
    "this page only reads: {what} is refused here. Changes go through the change pipeline "
    "(Start a change), which checks the rules and audits them."
)


def _without_strings(text: str) -> str:
    """The text without its string literals and comments, so that a word inside them is not a clause."""
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`", "''", text)


def refused_write(text: str) -> str | None:
    found = WRITES.search(_without_strings(text))
    return WRITE_REFUSED.format(what=found.group(0).strip()) if found else None


def _gist(text: str) -> str:
    """An ad-hoc query as the log's note names it: its text on one line, cut at 120 characters (the
    whole text is in the entry's `query_text`). "ad-hoc: ad-hoc query" told a reader of the log nothing."""
    line = " ".join(text.split())
    return line if len(line) <= GIST else line[: GIST - 1] + "…"


GIST = 120


class OperatorQueries:
    def __init__(self, repo: GraphRepository, seconds: float = SECONDS, max_rows: int = MAX_ROWS):
        self.repo, self.seconds, self.max_rows = repo, seconds, max_rows

    def library(self) -> list[library.LibraryQuery]:
        return library.library()

    def run(self, principal, *, name: str | None = None, text: str | None = None, params: dict | None = None):
        """→ (the query, library.Bounded, audit entry id, milliseconds). 403 ad-hoc text without the admin role; 422 a
        write, a bad parameter or a query Neo4j refuses (audited as `refused`)."""
        query, params = self._query(principal, name, text), dict(params or {})
        missing = [p for p in query.parameters if p not in params and p not in query.defaults]
        if missing:
            raise Unprocessable("parameters missing", errors={p: ["needs a value"] for p in missing})
        values = {**{k: v for k, v in query.defaults.items() if k in query.parameters}, **params}
        refused = refused_write(query.text)
        if refused:
            self._audit(principal, query, values, REFUSED, note=refused)
            raise Unprocessable(refused, errors={"query": ["writes are refused"]}, cause="read_only")
        started = time.monotonic()
        try:
            self._check_reach(principal, query, values)
            answer = library.run_bounded(
                self.repo.driver, self.repo.database, query.text, values, seconds=self.seconds, max_rows=self.max_rows
            )
        except ClientError as exc:
            message = _neo4j_message(exc, self.seconds)
            self._audit(principal, query, values, REFUSED, note=message)
            raise Unprocessable(message, errors={"query": [exc.code or "refused"]}, cause="query_refused") from None
        except Unprocessable as exc:
            self._audit(principal, query, values, REFUSED, note=exc.message)
            raise
        ms = round((time.monotonic() - started) * 1000)
        entry = self._audit(
            principal, query, values, QUERY_OK, rows=len(answer.rows), ms=ms, truncated=answer.truncated
        )
        return query, answer, entry, ms

    def _query(self, principal, name: str | None, text: str | None) -> library.LibraryQuery:
        if name:
            try:
                return library.find(name if name.startswith(library.PREFIX) else library.PREFIX + name)
            except LookupError as exc:
                raise Unprocessable(str(exc), errors={"name": ["not in the library"]}) from None
        if not principal.can("read"):
            raise Forbidden("ad-hoc Cypher needs a role that reads the graph", cause="role", required="read")
        text = (text or "").strip()
        if not text or len(text) > MAX_TEXT:
            raise Unprocessable("the query is empty or too long", errors={"text": [f"1 to {MAX_TEXT} characters"]})
        return library.LibraryQuery("ad-hoc", library.CYPHER_DIR, text, _gist(text))

    def _check_reach(self, principal, query, values: dict) -> None:
        """422 when a non-admin's ad-hoc query could reach the secret-bearing nodes (see the module's text)."""
        if query.name != "ad-hoc" or principal.can("admin"):
            return
        for operator, details in library.planned_operators(self.repo.driver, self.repo.database, query.text, values):
            secret = _SECRET_LABEL.search(details)
            if operator in UNNAMED_START or secret:
                what = f"{operator} {details}".strip() if not secret else f"the label {secret.group(1)}"
                raise Unprocessable(
                    REACH_REFUSED.format(what=what[:200]), errors={"text": ["reaches beyond the graph"]}, cause="reach"
                )

    def _audit(self, principal, query, values: dict, status: str, note: str | None = None, **details) -> str:
        entry = audit_entry(
            kind="query",
            log_id=new_id("log"),
            now=utcnow(),
            requested_by=principal.name,
            status=status,
            note=(note or f"{query.name}: {query.question}")[:500],
            query_name=query.name,
            query_text=query.text[:MAX_TEXT],
            params=json.dumps(values, default=str)[:4000],
            token_id=principal.token_id,
            **{k: v for k, v in details.items() if v is not None},
        )
        return self.repo.record_refusal(entry, None)


def _neo4j_message(exc: ClientError, seconds: float) -> str:
    code = exc.code or ""
    if "AccessMode" in code or "ForbiddenOnReadOnlyDatabase" in code:
        return WRITE_REFUSED.format(what="a write")
    if "TransactionTimedOut" in code or "Timeout" in code:
        return f"the query ran past {seconds:g} s and was stopped; narrow it (a LIMIT, a label, an index)"
    return f"Neo4j refused the query: {_as_written(exc.message or code)[:500]}"


EXPLAINED = "EXPLAIN "  # library.planned_operators plans a query as this prefix + its text


def _as_written(message: str) -> str:
    """A syntax error found while the query was planned names its place in `EXPLAIN <text>`: the column
    and offset of line 1, the quoted line and its caret, all 8 characters right of what the person wrote."""
    if f'"{EXPLAINED}' not in message:
        return message
    shift = len(EXPLAINED)

    def moved(found: re.Match) -> str:
        column, offset = int(found.group(1)) - shift, int(found.group(2)) - shift
        return f"(line 1, column {max(column, 1)} (offset: {max(offset, 0)}))"

    message = re.sub(r"\(line 1, column (\d+) \(offset: (\d+)\)\)", moved, message)
    lines = message.split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.startswith(f'"{EXPLAINED}'):
            line = '"' + line[1 + shift :]
        elif i and lines[i - 1].startswith(f'"{EXPLAINED}') and line.strip() == "^":
            line = line[shift:]
        out.append(line)
    return "\n".join(out)


def parse_params(text: str) -> dict[str, Any]:
    """Ad-hoc parameters: `name => value` lines (Browser's :param syntax) or one JSON object."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            found = json_strict.loads(text)  # a duplicated key, NaN, 1e400: refused, naming it
        except ValueError as exc:
            raise Unprocessable("parameters are not JSON", errors={"params": [str(exc)]}) from None
        if not isinstance(found, dict):
            raise Unprocessable("parameters must be an object", errors={"params": ["not an object"]})
        return found
    out = {}
    for line in text.splitlines():
        name, arrow, value = line.strip().lstrip(":").removeprefix("param").strip().partition("=>")
        if not arrow or not re.fullmatch(r"[A-Za-z_]\w*", name.strip()):
            raise Unprocessable("parameters are `name => value` lines", errors={"params": [line[:100]]})
        out[name.strip()] = library.cypher_value(value)
    return out
