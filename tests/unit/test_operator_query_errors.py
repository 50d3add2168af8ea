"""A syntax error in an operator's query names the place in what the person wrote: a non-admin's query is
planned first as `EXPLAIN <text>`, and Neo4j's message counted the 8 characters of that prefix."""

from __future__ import annotations

from app.audit.operator_queries import _as_written


def test_a_planned_querys_syntax_error_points_into_its_own_text():
    planned = (
        "Invalid input 'FROM': expected an expression (line 1, column 28 (offset: 27))\n"
        '"EXPLAIN MATCH (n) RETURN n FROM"\n'
        "                            ^"
    )
    assert _as_written(planned) == (
        "Invalid input 'FROM': expected an expression (line 1, column 20 (offset: 19))\n"
        '"MATCH (n) RETURN n FROM"\n'
        "                    ^"
    )
    ran = "Invalid input 'FROM' (line 1, column 20 (offset: 19))\n\"MATCH (n) RETURN n FROM\"\n                    ^"
    assert _as_written(ran) == ran  # not planned first: already the person's own columns
