"""Resolving references as real configs write them, into edges (or errors).

A reference names its target by nickname (`vpc_nickname: karma-dev`, `openapi: karma-api`, a list of
nicknames) or by VALUE of one of the target's config attributes (`route53_zone_name: usekarma.dev` →
the route53-zone whose `zone_name` is `usekarma.dev.`, with a trailing-dot normalisation), looked for in
the declared scope (the same environment, any, or one named environment).

Pure functions: the graph read is done by the caller (the change pipeline's one impact query, the seed
loader's read) from what `nickname_ids` and `value_lookups` say to look for; `resolve` turns the config
and what was found into `{(key, value): target id}` plus errors per key; `derive_edges` gives a change's
old and new edges.
"""

from __future__ import annotations

import difflib
import re
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from app.components.registry import ComponentType, Reference, name_key, split_id
from app.errors import NotFound


@dataclass
class Found:
    """What the graph read returned: `refs` — the components a by-nickname reference may name {id,
    exists, type, environment} (found by type and nickname, whatever their id: `vpc/x` or
    `prod/vpc/x`); `values` — one row per candidate target {type, property, value, id, environment};
    `by_nickname` — the refs already keyed as :func:`by_name` keys them, when the caller keeps such a map
    up to date (a change set adds each component it creates: app.changes.set_references)."""

    refs: list[dict] = field(default_factory=list)
    values: list[dict] = field(default_factory=list)
    by_nickname: dict[str, list[dict]] | None = None
    near_names: NearNames | None = None  # where a mistyped name's near name is looked for (default: `names`)

    @cached_property
    def names(self) -> dict[str, list[dict]]:
        """`by_name(refs)`, built once: a seed file or an import resolves every component against the same
        Found (rebuilding it per component made validating n components cost n²)."""
        return self.by_nickname if self.by_nickname is not None else by_name(self.refs)

    @cached_property
    def near(self) -> NearNames:
        """What a mistyped nickname most likely meant, among the names this read found (or `near_names`)."""
        return self.near_names if self.near_names is not None else NearNames(placed(self.names))

    @classmethod
    def from_context(cls, ctx: dict) -> Found:
        return cls(refs=list(ctx.get("refs") or []), values=list(ctx.get("ref_values") or []))


class NearNames:
    """The known `<type>/<nickname>` a name that names nothing most likely meant: a real repository's
    reference drift is mostly typos (aws-config's grafana names `vpc/use-karma-dev`; the VPC is
    `usekarma-dev`), and "references unknown component" alone leaves the operator to search the tree.
    Only names of the target's type are candidates, grouped once per type; a type with more than
    `MAX_POOL` names suggests nothing (an error path stays cheap however large the graph).

    `names` are those at hand (a tree, a set as it has left the graph). Where only the names a request
    named were read (the gate's one context read), `read_ids(type, limit)` reads the ids of a type's
    components from the graph — called only for a name that names nothing, once per type, at most
    `MAX_POOL + 1` of them, so the success path reads nothing more. A near name is a reference's
    `<type>/<nickname>`; with `as_ids`, the component's id (`prod/vpc/x`: what an unknown id in a URL or
    an operation most likely meant, in the same environment when there is one there). `said`: each
    suggestion made, by the name that named nothing (the `did_you_mean` of an error body).

    A candidate is a name (or id), or a (name, environment) pair — `placed` makes them of a :func:`by_name`
    map, `read_ids` reads them so: a reference's near name is one it could resolve to, in the environment
    its scope allows (`of(name, environment)`: a dev subnet's `vpc_nickname` is not answered with a prod
    VPC); a candidate whose environment is not known (an import's refused name) is not held back."""

    MAX_POOL = 5000
    CUTOFF = 0.8  # difflib's ratio: one or two characters of a ten-character nickname
    # candidates compared in all, per NearNames (one import, one request): ~30 ms a 5,000-name search, so a
    # tree whose references are broken by the thousand (a renamed type) is not held up for minutes by hints
    BUDGET = 100_000

    def __init__(
        self,
        names: Iterable[str] = (),
        read_ids: Callable[[str, int], list[str]] | None = None,
        *,
        as_ids: bool = False,
        read_values: Callable[[str, str, int], tuple[int, list[str]]] | None = None,
    ) -> None:
        self._names = names  # read at the first name that names nothing: most reads have none
        self._read_ids = read_ids
        self._read_values = read_values
        self._values: dict[tuple[str, str], list[str] | None] = {}  # per (type, property): the graph's
        self._as_ids = as_ids
        self._read: dict[str, list[str] | None] = {}  # per type: the graph's (None: too many to compare)
        self._by_nickname: dict[str, dict[str, list[str]]] = {}
        self._asked: dict[str, str | None] = {}
        self._compared = 0  # candidates compared so far, against BUDGET
        self.said: dict[str, str] = {}

    @cached_property
    def _by_type(self) -> dict[str, list[tuple[str, str | None]]]:
        by_type: dict[str, list[tuple[str, str | None]]] = {}
        for candidate in self._names:
            name, environment = _placed(candidate)
            by_type.setdefault(_name_parts(name)[1], []).append((name, environment))
        return by_type

    def _pool(self, type_name: str) -> list[tuple[str, str | None]] | None:
        """The candidates of a type, (name, environment): those at hand and the graph's (None when there
        are too many)."""
        own = self._by_type.get(type_name, [])
        if self._read_ids is None:
            return own
        if type_name not in self._read:
            ids = [_placed(i) for i in self._read_ids(type_name, self.MAX_POOL + 1)]
            self._read[type_name] = None if len(ids) > self.MAX_POOL else [(self._form(i), e) for i, e in ids]
        read = self._read[type_name]
        return None if read is None else own + read

    def _form(self, component_id: str) -> str:
        _env, type_name, nickname = _name_parts(component_id)
        return component_id if self._as_ids else name_key(type_name, nickname)

    def of(self, name: str, environment: str | None = None) -> str | None:
        """The near name of `name`, among the candidates in `environment` (None: in any)."""
        if (name, environment) not in self._asked:  # a tree's typo is often repeated: one search per name
            self._asked[(name, environment)] = self._search(name, environment)
        near = self._asked[(name, environment)]
        if near is not None:
            self.said[name] = near
        return near

    def value_of(self, ref: Reference, value: str, environment: str | None, at_hand: Iterable[dict]) -> str | None:
        """The existing value of `ref`'s target attribute a value that matches nothing most likely meant
        (`strall.co.` for a zone `strall.com.`), compared as the reference compares (`ref.normal`), among the
        targets in its scope from `environment` (`ref.in_scope`): `at_hand` (the set's rows: {value,
        environment}) and, read then (`read_values`), at most `MAX_POOL` of the graph's — a type with more
        suggests nothing, as for names. Said (`said`) by the value as written."""
        key = (ref.target_type, ref.target_property)
        if key not in self._values:
            read, rows = self._read_values(*key, self.MAX_POOL + 1) if self._read_values else (0, [])
            self._values[key] = None if read > self.MAX_POOL else rows
        graph = self._values[key]
        wanted = ref.normal(value)
        pool = {
            ref.normal(row["value"]): row["value"]
            for row in [*at_hand, *(graph or ())]
            if isinstance(row.get("value"), str) and ref.in_scope(environment, row.get("environment"))
        }
        pool.pop(wanted, None)  # the same value, out of scope: the message says where it resolves
        if graph is None or not pool or self._compared + len(pool) > self.BUDGET:
            return None
        self._compared += len(pool)
        close = difflib.get_close_matches(wanted, list(pool), n=1, cutoff=self.CUTOFF)
        if close:
            self.said[value] = pool[close[0]]
        return pool[close[0]] if close else None

    def _search(self, name: str, within: str | None) -> str | None:
        environment, type_name, nickname = _name_parts(name)
        by_nickname = self._nicknames(type_name)
        if not by_nickname or self._compared + len(by_nickname) > self.BUDGET:
            return None
        self._compared += len(by_nickname)
        # only those the reference could resolve to (one whose environment is not known could be)
        by_nickname = {
            n: named
            for n, c in by_nickname.items()
            if (named := [m for m, envs in c.items() if within is None or within in envs or None in envs])
        }
        pool = [n for n in by_nickname if n != nickname or by_nickname[n] != [name]]
        close = difflib.get_close_matches(nickname, pool, n=1, cutoff=self.CUTOFF)
        if not close:
            return None
        named = [n for n in by_nickname[close[0]] if n != name]  # `dev/vpc/x`, `prod/vpc/x`: the name's environment's
        return next((n for n in named if _name_parts(n)[0] == environment), named[0]) if named else None

    def _nicknames(self, type_name: str) -> dict[str, dict[str, set[str | None]]]:
        """A type's candidates by nickname, {name: its environments} each (`vpc/x` may be in dev and prod),
        made once per type ({} when there are too many to compare)."""
        if type_name not in self._by_nickname:
            pool = self._pool(type_name) or ()
            by_name: dict[str, set[str | None]] = {}
            for candidate, environment in pool:
                by_name.setdefault(candidate, set()).add(environment)
            by_nickname: dict[str, dict[str, set[str | None]]] = {}
            for candidate in sorted(by_name) if len(by_name) <= self.MAX_POOL else ():
                by_nickname.setdefault(_name_parts(candidate)[2], {})[candidate] = by_name[candidate]
            self._by_nickname[type_name] = by_nickname
        return self._by_nickname[type_name]


def placed(names: dict[str, list[dict]]) -> list[tuple[str, str | None]]:
    """The (name, environment) candidates of a :func:`by_name` map, for NearNames."""
    return [(name, row.get("environment")) for name, rows in names.items() for row in rows]


def _placed(candidate: str | tuple | list) -> tuple[str, str | None]:
    """A candidate as (name, environment): a bare name's environment is its id's when qualified, else unknown."""
    if isinstance(candidate, str):
        return candidate, _name_parts(candidate)[0]
    name, environment = candidate
    return name, environment


def _name_parts(name: str) -> tuple[str | None, str, str]:
    """(environment or None, type, nickname) of a name or an id, as written (whatever types exist)."""
    parts = name.split("/")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    type_name, _, nickname = name.partition("/")
    return None, type_name, nickname


def unknown_component(name: str, near: NearNames, environment: str | None = None) -> str:
    """The message of a reference whose name names no component, with the near name when there is one (in
    `environment` when the reference resolves only there: Reference.scope_environment)."""
    close = near.of(name, environment)
    return f"references unknown component {name!r}" + (f"; did you mean {close!r}?" if close else "")


_UNKNOWN = re.compile(r"^references unknown component (['\"])(.+?)\1")


def unknown_name(message: str) -> str | None:
    """The name an `unknown_component` message says names nothing (None: another message) — what an
    import's reference drift record keeps as its `target`, so the drift view can tell when it resolves."""
    match = _UNKNOWN.match(message or "")
    return match.group(2) if match else None


def missing_component(component_id: str, near: NearNames, **extra) -> NotFound:
    """The 404 of an id that names no component (a URL's, an operation's), with the id it most likely
    meant in the message and as `did_you_mean` (`near`: ids, NearNames(as_ids=True))."""
    close = near.of(component_id)
    return NotFound(
        f"component {component_id!r} not found" + (f"; did you mean {close!r}?" if close else ""),
        cause="unknown_component",
        component=component_id,
        **({"did_you_mean": close} if close else {}),
        **extra,
    )


def by_name(rows: list[dict]) -> dict[str, list[dict]]:
    """Existing components by `<type>/<nickname>` (what a nickname reference names)."""
    out: dict[str, list[dict]] = {}
    for row in rows:
        add_name(out, row)
    return out


def add_name(names: dict[str, list[dict]], row: dict) -> None:
    """One more row in a :func:`by_name` map (an existing component, once per id)."""
    if not row.get("exists", True) or not isinstance(row.get("id"), str):
        return
    try:
        type_name, nickname = split_id(row["id"])
    except ValueError:
        return
    key = name_key(row.get("type") or type_name, row.get("nickname") or nickname)
    if all(r["id"] != row["id"] for r in names.get(key, [])):
        names.setdefault(key, []).append(row)


def nickname_ids(ctype: ComponentType, config: dict, keys=None) -> list[str]:
    """Names (`<type>/<nickname>`) of the targets named by nickname under `keys` (all reference keys
    when None), looked up by type and nickname."""
    return sorted({t for ref in _refs(ctype, keys) for t in ref.target_ids(config)})


def value_lookups(ctype: ComponentType, config: dict, keys=None) -> list[dict]:
    """Parameters for the graph read of by-value references: {type, property, candidates, ignore_case}."""
    out = []
    for ref in _refs(ctype, keys):
        if ref.by_value and (values := ref.values(config)):
            candidates = sorted({c for v in values for c in ref.candidates(v)})
            out.append(
                {
                    "mode": "value",
                    "key": ref.key,
                    "type": ref.target_type,
                    "property": ref.target_property,
                    "candidates": candidates,
                    "ignore_case": "case" in ref.normalize,
                }
            )
    return out


def _referring(type_name: str, attributes, types=None) -> list[tuple[ComponentType, Reference]]:
    from app.components.registry import registry  # noqa: PLC0415

    types = types or registry
    return [
        (t, r)
        for name in types.names()
        for t in [types.get(name)]
        for r in t.references
        if r.by_value and r.target_type == type_name and r.by in attributes
    ]


def referrer_lookups(type_name: str, changed_keys) -> list[dict]:
    """When a change touches an attribute by-value references match (a zone's zone_name): which components
    name the component by it — read in the same query (mode 'referrer')."""
    return [
        {"mode": "referrer", "source_type": t.name, "via": r.key, "property": f"cfg_{r.key}"}
        for t, r in _referring(type_name, set(changed_keys))
    ]


def referrer_errors(type_name: str, new_config: dict, changed_keys, rows: list[dict]) -> dict[str, list[str]]:
    """A change to an attribute that other components name this one by must keep matching their value
    (after their normalisation), or their references would no longer resolve: errors per attribute."""
    errors: dict[str, list[str]] = {}
    for row in broken_referrers(type_name, new_config, changed_keys, rows):
        errors.setdefault(row["attribute"], []).append(
            f"{row['component']} names this {type_name} by {row['attribute']} ({row['via']}: {row['value']!r}); "
            f"it would no longer resolve — change that reference first"
        )
    return errors


def broken_referrers(type_name: str, new_config: dict, changed_keys, rows: list[dict]) -> list[dict]:
    """The referrers (`rows`: {source, source_type, via, value}) a change to the attributes they name this
    component by would leave unresolved: [{component, via, attribute, value}], by component."""
    refs = {(t.name, r.key): r for t, r in _referring(type_name, set(changed_keys))}
    out = []
    for row in sorted(rows, key=lambda r: (r["source"], r["via"])):
        ref = refs.get((row.get("source_type"), row.get("via")))
        if ref is None or not isinstance(row.get("value"), str):
            continue
        new = new_config.get(ref.by)
        if not isinstance(new, str) or ref.normal(new) != ref.normal(row["value"]):
            out.append({"component": row["source"], "via": ref.key, "attribute": ref.by, "value": row["value"]})
    return out


def _refs(ctype: ComponentType, keys) -> list[Reference]:
    return [r for r in ctype.references if keys is None or r.top in keys]


def resolve(
    ctype: ComponentType, environment: str, config: dict, found: Found, keys=None
) -> tuple[dict, dict[str, list[str]]]:
    """→ ({(key, value): target id}, {place: [errors]}) for the references under `keys` (all when None).
    An error is under the config's own place (`functions.api.vpc_nickname`, the key itself unless the
    key's pattern goes through a map). Errors: an unknown nickname, a target outside the scope, a value
    that matches no target, or a nickname or value that matches several in scope (named)."""
    names = found.names
    resolved: dict = {}
    errors: dict[str, list[str]] = {}
    for ref in _refs(ctype, keys):
        judged: dict[str, tuple[str | None, str | None]] = {}
        for place, value in ref.places(config):
            if value not in judged:
                judged[value] = (
                    _by_value(ref, environment, value, found.values, found.near)
                    if ref.by_value
                    else _by_nickname(ref, environment, value, names, found.near)
                )
            target, problem = judged[value]
            if target:
                resolved[(ref.key, value)] = target
            if problem and problem not in errors.get(place, []):
                errors.setdefault(place, []).append(problem)
    return resolved, errors


def _by_nickname(
    ref: Reference, environment: str, nickname: str, names: dict[str, list[dict]], near: NearNames
) -> tuple[str | None, str | None]:
    name = name_key(ref.target_type, nickname)
    rows = names.get(name, [])
    if not rows:
        return None, unknown_component(name, near, ref.scope_environment(environment))
    in_scope = sorted(r["id"] for r in rows if ref.in_scope(environment, r.get("environment")))
    if len(in_scope) > 1:
        return None, (
            f"{nickname!r} names several {ref.target_type} components ({_scope_text(ref, environment)}): "
            f"{', '.join(in_scope)}"
        )
    if not in_scope:
        row = sorted(rows, key=lambda r: r["id"])[0]
        return None, (
            f"references {row['id']!r} in environment {row.get('environment')!r}, not {environment!r}: "
            + _scope_text(ref, environment)
        )
    return in_scope[0], None


def _by_value(
    ref: Reference, environment: str, value: str, rows: list[dict], near: NearNames
) -> tuple[str | None, str | None]:
    wanted = ref.normal(value)
    matches = sorted(
        {
            r["id"]
            for r in rows
            if r.get("type") == ref.target_type
            and r.get("property") == ref.target_property
            and isinstance(r.get("value"), str)
            and ref.normal(r["value"]) == wanted
            and ref.in_scope(environment, r.get("environment"))
        }
    )
    if not matches:
        at_hand = (r for r in rows if r.get("type") == ref.target_type and r.get("property") == ref.target_property)
        close = near.value_of(ref, value, environment, at_hand)
        return None, (
            f"references no {ref.target_type} whose {ref.by} is {value!r} ({_scope_text(ref, environment)})"
            + (f"; did you mean {close!r}?" if close else "")
        )
    if len(matches) > 1:
        return None, (f"{value!r} matches several {ref.target_type} components by {ref.by}: {', '.join(matches)}")
    return matches[0], None


def _scope_text(ref: Reference, environment: str) -> str:
    if ref.scope == "any":
        return "in any environment"
    if ref.scope == "same":
        return f"references stay within {environment!r}"
    return f"this reference resolves in environment {ref.scope!r}"


def derive_edges(
    ctype: ComponentType,
    component: dict,
    old_config: dict,
    new_config: dict,
    changed_keys,
    found: Found,
    stored: list[dict],
) -> tuple[list[dict], list[dict], dict]:
    """A change's (old edges, new edges, errors per key). A reference the change does not touch keeps
    the edge it has (`stored`: the component's current outgoing edges {target, kind, via}); one it
    touches resolves again from `found` (by nickname or by value, in its scope)."""
    cid, env = component["id"], component["environment"]
    top = {r.key: r.top for r in ctype.references}
    changed = {r.key for r in ctype.references if r.top in set(changed_keys)}
    ref_keys = set(top)
    kept = [
        {"source": cid, "target": e["target"], "kind": e["kind"], "via": e["via"]}
        for e in stored
        if e.get("via") in ref_keys
    ]
    resolved, errors = resolve(ctype, env, new_config, found, keys=changed)
    new = [e for e in kept if e["via"] not in changed] + [
        e for e in ctype.edges(cid, new_config, resolved) if e["via"] in changed
    ]
    return kept, new, errors


def edges_within(
    components, types=None, near_also: Iterable[str] = ()
) -> tuple[list[dict], dict[str, dict[str, list[str]]]]:
    """Edges among a set of components whose references resolve inside the set (a generated estate, an
    imported tree) → (edges, {component id: {place: [errors]}} for the types with by-value references).
    Indexed by target attribute, so it stays linear in the number of components. A name that names
    nothing is given its near name among the set's and `near_also` (NearNames)."""
    from app.components.registry import registry  # noqa: PLC0415

    types = types or registry
    components = list(components)
    ctypes = {name: types.get(name) for name in {c["type"] for c in components}}
    by_value = {name for name, t in ctypes.items() if any(r.by_value for r in t.references)}
    qualified = any(c["id"].count("/") == 2 for c in components)  # ids are not all `<type>/<nickname>`
    wanted = {(r.target_type, r.by, r.normalize) for name in by_value for r in ctypes[name].references if r.by_value}
    index: dict[tuple, dict[str, list[dict]]] = {w: {} for w in wanted}
    by_type: dict[str, list[tuple]] = {}
    for w in wanted:
        by_type.setdefault(w[0], []).append(w)
    refs = []
    for c in components:
        refs.append({"id": c["id"], "exists": True, "type": c["type"], "environment": c.get("environment")})
        for w in by_type.get(c["type"], []):
            value = c["config"].get(w[1]) if isinstance(c.get("config"), dict) else None
            if isinstance(value, str):
                probe = Reference(key="", target_type=w[0], by=w[1], normalize=w[2])
                index[w].setdefault(probe.normal(value), []).append(
                    {
                        "type": c["type"],
                        "property": probe.target_property,
                        "value": value,
                        "id": c["id"],
                        "environment": c.get("environment"),
                    }
                )
    names = by_name(refs)
    near = NearNames(itertools.chain(placed(names), near_also), read_values=_values_within(index))
    edges, errors = [], {}
    for c in components:
        ctype = ctypes[c["type"]]
        if c["type"] not in by_value and not qualified:  # nothing to look up: the common, fast case
            edges += ctype.edges(c["id"], c["config"])
            continue
        values = [
            row
            for r in ctype.references
            if r.by_value
            for v in r.values(c["config"])
            for row in index[(r.target_type, r.by, r.normalize)].get(r.normal(v), [])
        ]
        found = Found(
            refs=[r for t in nickname_ids(ctype, c["config"]) for r in names.get(t, [])], values=values, near_names=near
        )
        resolved, problems = resolve(ctype, c.get("environment"), c["config"], found)
        if problems:
            errors[c["id"]] = problems
        edges += ctype.edges(c["id"], c["config"], resolved)
    return edges, errors


def _values_within(index: dict[tuple, dict[str, list[dict]]]) -> Callable[[str, str, int], tuple[int, list[dict]]]:
    """A set's own `read_values` (NearNames): the values of a type's attribute among the set's components, read
    from :func:`edges_within`'s index (which holds every such value, not only those a reference matched) —
    what the graph read gives a request, so a by-value typo in an import is answered as one in a request."""

    def read(type_name: str, prop: str, limit: int) -> tuple[int, list[dict]]:
        rows = {
            row["id"]: row
            for (target_type, _by, _normalize), by_normal in index.items()
            if target_type == type_name
            for found in by_normal.values()
            for row in found
            if row["property"] == prop
        }
        return len(rows), list(rows.values())[:limit]

    return read


def unresolved(
    components, edges: list[dict], ids: set[str], errors: dict, types=None, near_also: Iterable[str] = ()
) -> dict[str, dict[str, list[str]]]:
    """Every reference problem of a set of configs, from what :func:`edges_within` gave (`edges`, `errors`):
    the errors, plus `references unknown component` for each edge whose target is not among `ids` (the
    components it may name), under the place of the source's config that names it (the place an error
    already names is not named twice); a near name is suggested among `ids` and `near_also` (names an
    import refused: the typo's target may be refused itself). {component id: {place: [messages]}}."""
    from app.components.registry import registry  # noqa: PLC0415

    types = types or registry
    by_id = {c["id"]: c for c in components}
    placed_ids = ((name_key(*split_id(i)), by_id[i].get("environment") if i in by_id else None) for i in ids)
    near = NearNames(itertools.chain(placed_ids, near_also))
    out = {cid: {place: list(found) for place, found in keys.items()} for cid, keys in errors.items()}
    for e in edges:
        if e["target"] in ids or e["source"] not in by_id:
            continue
        source = by_id[e["source"]]
        refs = [r for r in types.get(source["type"]).references if r.key == e["via"]]
        places = [p for r in refs for p, v in r.places(source["config"]) if _names(r, v, e["target"], by_id)]
        for place in places or [e["via"]]:
            if place not in errors.get(e["source"], {}):
                found = out.setdefault(e["source"], {}).setdefault(place, [])
                within = refs[0].scope_environment(source.get("environment")) if refs else None
                message = unknown_component(e["target"], near, within)
                found += [] if message in found else [message]
    return out


def _names(ref: Reference, value: str, target: str, by_id: dict[str, dict]) -> bool:
    """Whether `value`, read at a place of `ref`, is what made the edge to `target`: the name itself (an
    unresolved nickname stands for `<type>/<nickname>`), or the resolved component's nickname or value."""
    row = by_id.get(target)
    if row is None:
        return target == name_key(ref.target_type, value)
    if ref.by_value:
        wanted = (row.get("config") or {}).get(ref.by)
        return isinstance(wanted, str) and ref.normal(wanted) == ref.normal(value)
    return (row.get("nickname") or split_id(row["id"])[1]) == value
