"""Every field an error body carries is declared in the OpenAPI document's error schema (ErrorSchema).

An error's details are its keyword arguments (`Conflict(..., cause="stale_plan", changed=moved)`), and
the body says them all (app.errors.envelope); ErrorSchema admits undeclared ones (`unknown = INCLUDE`),
so a detail nobody declared — `refused_file`, `waiting_status` — passed the contract test undocumented.
The app's sources are read for every detail an error is raised with, as a reader of the code would."""

from __future__ import annotations

import ast
import inspect

from app import errors
from app.api.schemas import ErrorSchema
from app.changes.set_analysis import missing
from app.components.references import missing_component
from app.settings import REPO_ROOT

# what makes an error (its class, or a helper returning one), and the keywords it takes as its own
# arguments rather than as details of the body (`retry_after` is a header; `look_up` goes in the message)
MAKERS = {c.__name__: c for c in (errors.KarmaError, *errors.KarmaError.__subclasses__())}
MAKERS |= {c.__name__: c for c in errors.ServiceUnavailable.__subclasses__()}
MAKERS |= {"missing": missing, "missing_component": missing_component}
# the command line's own errors are printed by it, never answered by the API
NOT_ANSWERED = ("app/cli/", "app/client/")


def _own_arguments(maker) -> set[str]:
    target = maker.__init__ if inspect.isclass(maker) else maker
    return {n for n, p in inspect.signature(target).parameters.items() if p.kind is not p.VAR_KEYWORD}


def _details() -> dict[str, str]:
    """{detail: where an error is raised with it} over app/."""
    found: dict[str, str] = {}
    for path in sorted((REPO_ROOT / "app").rglob("*.py")):
        where = path.relative_to(REPO_ROOT).as_posix()
        if where.startswith(NOT_ANSWERED):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name not in MAKERS:
                    continue
                own = _own_arguments(MAKERS[name]) - {"errors"}
                for keyword in node.keywords:
                    keys = [keyword.arg] if keyword.arg else _literal_keys(keyword.value)
                    found.update({k: f"{where}:{node.lineno}" for k in keys if k not in own})
            elif isinstance(node, ast.Assign):  # exc.extra["assumption"] = at
                for target in node.targets:
                    if _is_extra(target):
                        found[target.slice.value] = f"{where}:{node.lineno}"
    return found


def _literal_keys(value: ast.expr) -> list[str]:
    """The keys of `**{...}`, `**({...} if … else {})` and `**{k: … for k in ("a", "b")}` (the forms a
    detail is passed on in)."""
    if isinstance(value, ast.IfExp):
        return _literal_keys(value.body) + _literal_keys(value.orelse)
    if isinstance(value, ast.Dict):
        return [k.value for k in value.keys if isinstance(k, ast.Constant)]
    if isinstance(value, ast.DictComp) and isinstance(value.generators[0].iter, ast.Tuple):
        return [e.value for e in value.generators[0].iter.elts if isinstance(e, ast.Constant)]
    return []


def _is_extra(target: ast.expr) -> bool:
    return (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Attribute)
        and target.value.attr == "extra"
        and isinstance(target.slice, ast.Constant)
    )


def test_every_detail_an_error_is_raised_with_is_declared_in_the_error_schema():
    details = _details()
    assert {"cause", "did_you_mean", "refused_file", "waiting_status"} <= set(details)  # the reading reads
    declared = set(ErrorSchema().fields)
    undeclared = {k: where for k, where in details.items() if k not in declared}
    assert not undeclared, f"error details not declared in ErrorSchema (app/api/schemas.py): {undeclared}"
