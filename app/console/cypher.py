"""The console's Cypher page: the operators' library (`cypher/ops_*.cypher`) with its parameters, and
ad-hoc text (below admin, bounded in what it may reach) — read-only, bounded in time and rows, audited,
shown as a table and a picture
(app/audit/operator_queries.py does the running and the auditing)."""

from __future__ import annotations

from flask import render_template, request

from app import render
from app.api.context import services
from app.audit.operator_queries import parse_params
from app.console import session
from app.console.pages import blp
from app.errors import Forbidden, Unprocessable
from app.graph.library import cypher_value


def _library_params(name: str) -> dict:
    """The form's `param.<name>` fields, each a :param value (JSON, 'quoted' or plain text); empty → default."""
    return {
        key[len("param.") :]: cypher_value(value)
        for key, value in request.form.items()
        if key.startswith("param.") and value.strip()
    }


@blp.route("/cypher", methods=["GET", "POST"])
def cypher():
    me, queries = session.principal(), services().operator_queries
    chosen = request.values.get("name") or ""
    text = request.form.get("text") or ""
    params_text = request.form.get("params") or ""
    context = {
        "library": queries.library(),
        "chosen": chosen,
        "text": text,
        "params_text": params_text,
        "can_adhoc": me.can("read"),
        "seconds": queries.seconds,
        "max_rows": queries.max_rows,
    }
    if request.method == "GET":
        return render_template("console/cypher.html", **context)
    try:
        if request.form.get("mode") == "adhoc":
            context["chosen"] = ""
            query, answer, entry, ms = queries.run(me, text=text, params=parse_params(params_text))
        else:
            query, answer, entry, ms = queries.run(me, name=chosen, params=_library_params(chosen))
    except (Unprocessable, Forbidden) as exc:
        return render_template("console/cypher.html", error=exc, **context), exc.status
    picture = render.from_rows(f"{query.name}: the components in its answer", answer.rows)
    return render_template(
        "console/cypher.html",
        query=query,
        answer=answer,
        entry=entry,
        ms=ms,
        picture=picture if picture.nodes else None,
        **context,
    )
