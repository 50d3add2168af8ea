"""Reading a types directory: one YAML declaration per type, beside (or pointing at) its JSON Schema.

    types/
      subnet.yaml            # Karma's declaration: action, config_schema, runtime_outputs, references
      subnet.schema.json     # the config's JSON Schema (draft 2020-12), any schema file works unmodified

A declaration (file name = type name)::

    description: A subnet inside a VPC
    action: reapply                        # what a change upstream requires of it
    config_schema: subnet.schema.json      # relative to this file
    runtime_outputs:                       # name → JSON Schema of the value (declared outputs only)
      subnet_id: {type: string}
    references:
      - key: vpc_nickname                  # a config key (its value: a name, or a list of names)
        target: vpc                        # the target's type
        kind: depends_on                   # depends_on | consumes_runtime_from | emits_runtime_to
        reads: [vpc_id]                    # runtime outputs of the target it uses (optional)
        by: zone_name                      # optional: match the target's config attribute, not its nickname
        normalize: [trailing-dot]          # optional, with `by`: trailing-dot, case
        scope: same                        # same (default) | any | <an environment>
      - key: functions.*.vpc_nickname      # a key nested in a map of objects, by path (`*`: every key)
        target: vpc
      - key: vpc_runtime_path              # form runtime-path: `/iac/vpc/<nickname>/runtime` names <nickname>
        target: vpc
        kind: consumes_runtime_from
        form: runtime-path
    runtime_matches:                       # optional: runtime output → the config key it must equal;
      cidr_block: cidr_block               # a report that says otherwise is runtime drift (app.components.drift)

A schema file in the directory (or its `schemas/`) that no declaration uses is not ignored: its
declaration is inferred (`app.components.infer`, the same `karma types infer` writes for review) and
logged; a folder of schemas alone loads. `inferred` / `review` mark a declaration written by inference.

Loading is strict, like rule files: every problem in every file is collected and the whole directory is
refused (`TypeFileError`), each message naming the file and the field.
"""

from __future__ import annotations

import difflib
import logging
import re
from pathlib import Path
from typing import Any

import yaml

from app import yaml_misreads
from app.json_strict import read_json  # strict: a duplicated key, NaN, 1e400, a lone surrogate refused
from app.yaml_strict import StrictLoader
from app.components import infer
from app.components import schema as jsonschema_
from app.components.registry import (
    EDGE_KINDS,
    ID_PART,
    NORMALIZERS,
    SCOPES,
    ComponentType,
    Reference,
    emitters_of,
    registry,
)
from app.settings import types_dir

log = logging.getLogger("karma.types")

SUFFIXES = (".yaml", ".yml")
ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ACTION = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
TOP_FIELDS = {
    "name",
    "description",
    "action",
    "config_schema",
    "runtime_outputs",
    "runtime_matches",
    "references",
    "inferred",
    "review",
}
REFERENCE_FIELDS = {"key", "target", "kind", "reads", "by", "normalize", "scope", "form", "inferred"}
FORMS = ("nickname", "runtime-path")
INFERRED_HOW = ("convention", "by-value")


class TypeFileError(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("type files refused:\n  " + "\n  ".join(errors))


def default_directory() -> Path:
    return types_dir()


def type_files(directory: Path) -> list[Path]:
    return sorted(
        p for p in Path(directory).iterdir() if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


# ------------------------------------------------------------------------------------------ one file
def _unknown(where: str, keys, allowed: set[str], errors: list[str]) -> None:
    for key in sorted(set(keys) - allowed, key=str):
        hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
        errors.append(f"{where}{key}: unknown field" + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def _boolean_sections(_doc: Any) -> dict[tuple, None]:
    """Where a declaration holds a boolean (yaml_misreads.misread_booleans): `inferred` (`inferred: yes`
    stands as meant), and the runtime outputs' JSON Schemas, where either may be meant (`default: on`:
    refused with both ways out, `additionalProperties: false` stands). Every other field is text, so YAML
    1.1's unquoted `on` (`action: on`, `description: yes`) is refused naming the field, as in a seed."""
    return {("inferred",): None, ("runtime_outputs",): None}


def _read_yaml(path: Path, errors: list[str]) -> Any:
    try:
        doc, misread = yaml_misreads.load(path.read_text(encoding="utf-8"), StrictLoader, _boolean_sections)
        errors.extend(yaml_misreads.problems(misread, f"{path}: "))  # 017, 1:30, `action: on`: not as written
        return None if misread else doc
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{path}: cannot read: {exc}")
    except yaml.YAMLError as exc:
        errors.append(f"{path}: YAML error: {str(exc).splitlines()[0]}")
    return None


def _parse(path: Path, errors: list[str], doc: Any = None) -> dict | None:
    """One declaration (read from `path`, or inferred: `doc` given) → its raw parts (schema loaded), or
    None after recording errors."""
    where = f"{path}: "
    if doc is None:
        doc = _read_yaml(path, errors)
        if doc is None:
            return None
    if not isinstance(doc, dict):
        errors.append(f"{where}must be a mapping (a type declaration)")
        return None
    before = len(errors)
    _unknown(where, doc, TOP_FIELDS, errors)
    name = doc.get("name", path.stem)
    if name != path.stem:
        errors.append(f"{where}name: must be the file name {path.stem!r}, not {name!r}")
    if not ID_PART.match(path.stem):
        errors.append(f"{where}name: a type name is lower-case letters, digits and '-' ({path.stem!r})")
    description = doc.get("description", "")
    if not isinstance(description, str):
        errors.append(f"{where}description: must be a string")
    action = doc.get("action")
    if not isinstance(action, str) or not ACTION.match(action):
        errors.append(f"{where}action: required, a word like 'redeploy' (lower-case letters, digits, '-')")
    config_schema, schema_path = _config_schema(path, doc.get("config_schema"), where, errors)
    runtime = _runtime_schema(doc.get("runtime_outputs", {}), where, errors)
    refs = doc.get("references", [])
    if not isinstance(refs, list):
        errors.append(f"{where}references: must be a list")
        refs = []
    matches = _runtime_matches(doc.get("runtime_matches", {}), runtime, config_schema, where, errors)
    inferred = doc.get("inferred", False)
    if not isinstance(inferred, bool):
        errors.append(f"{where}inferred: true or false")
    review = doc.get("review", [])
    if not isinstance(review, list) or not all(isinstance(r, str) for r in review):
        errors.append(f"{where}review: a list of notes")
    if len(errors) > before:
        return None
    return {
        "name": path.stem,
        "description": description,
        "action": action,
        "config_schema": config_schema,
        "schema_path": schema_path,
        "runtime_schema": runtime,
        "runtime_matches": matches,
        "references": refs,
        "inferred": inferred,
        "path": path,
    }


def _runtime_matches(raw: Any, runtime: dict, config_schema: dict, where: str, errors: list[str]) -> tuple:
    """`runtime_matches: {vpc_cidr: cidr}`: a reported output that must equal a config key (else: drift)."""
    if not isinstance(raw, dict):
        errors.append(f"{where}runtime_matches: a mapping of runtime output → config key")
        return ()
    outputs, keys = set(runtime.get("properties", {})), set(infer.properties(config_schema))
    for output, key in raw.items():
        if output not in outputs:
            errors.append(f"{where}runtime_matches.{output}: not a declared runtime output")
        if not isinstance(key, str) or key not in keys:
            errors.append(f"{where}runtime_matches.{output}: {key!r} is not a property of the config schema")
    return tuple(sorted((str(o), str(k)) for o, k in raw.items()))


def _config_schema(path: Path, ref: Any, where: str, errors: list[str]) -> tuple[dict, Path | None]:
    if not isinstance(ref, str) or not ref:
        errors.append(f"{where}config_schema: required, the path of a JSON Schema file (relative to {path.name})")
        return {}, None
    schema_path = (path.parent / ref).resolve()
    try:
        schema = read_json(schema_path)
    except OSError as exc:
        errors.append(f"{where}config_schema: cannot read {ref!r}: {exc.strerror}")
        return {}, None
    except ValueError as exc:
        errors.append(f"{where}config_schema: {ref!r} is not valid JSON: {exc}")
        return {}, None
    for problem in jsonschema_.check_schema(schema):
        errors.append(f"{where}config_schema: {ref!r}: {problem}")
    if isinstance(schema, dict) and schema.get("type", "object") != "object":
        errors.append(f"{where}config_schema: {ref!r}: a config is a JSON object (type: object)")
    return (schema if isinstance(schema, dict) else {}), schema_path


def _runtime_schema(outputs: Any, where: str, errors: list[str]) -> dict:
    if not isinstance(outputs, dict):
        errors.append(f"{where}runtime_outputs: must be a mapping of output name → JSON Schema")
        return {}
    for name, spec in outputs.items():
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            errors.append(f"{where}runtime_outputs.{name}: an output name is letters, digits and '_'")
        for problem in jsonschema_.check_schema(spec):
            errors.append(f"{where}runtime_outputs.{name}: {problem}")
    return {"type": "object", "properties": dict(outputs), "additionalProperties": False}


def _reference(raw: Any, i: int, part: dict, types: dict[str, dict], errors: list[str]) -> Reference | None:
    where = f"{part['path']}: references[{i}]."
    if not isinstance(raw, dict):
        errors.append(f"{where[:-1]}: must be a mapping")
        return None
    before = len(errors)
    _unknown(where, raw, REFERENCE_FIELDS, errors)
    key, target, kind = raw.get("key"), raw.get("target"), raw.get("kind", "depends_on")
    spec = infer.schema_at(part["config_schema"], key) if isinstance(key, str) else None
    if not isinstance(key, str) or not key:
        errors.append(f"{where}key: required, a config key (or a path through maps: `functions.*.vpc_nickname`)")
    elif spec is None:
        errors.append(f"{where}key: {key!r} is not a property of the config schema")
    if target not in types:
        hint = difflib.get_close_matches(str(target), sorted(types), n=1)
        errors.append(
            f"{where}target: unknown component type {target!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        )
    if kind not in EDGE_KINDS:
        errors.append(f"{where}kind: must be one of {', '.join(EDGE_KINDS)}")
    reads = raw.get("reads", [])
    if not isinstance(reads, list) or not all(isinstance(r, str) for r in reads):
        errors.append(f"{where}reads: must be a list of runtime output names")
        reads = []
    by, normalize, scope = raw.get("by"), raw.get("normalize", []), raw.get("scope", "same")
    if by is not None and (
        not isinstance(by, str) or (target in types and by not in types[target]["config_schema"].get("properties", {}))
    ):
        errors.append(f"{where}by: must be a config property of {target!r} (the attribute the value matches)")
    if not isinstance(normalize, list) or any(n not in NORMALIZERS for n in normalize):
        errors.append(f"{where}normalize: a list of {', '.join(NORMALIZERS)}")
        normalize = []
    elif normalize and by is None:
        errors.append(f"{where}normalize: only with `by` (a nickname is compared exactly)")
    if not isinstance(scope, str) or (scope not in SCOPES and not ENVIRONMENT.match(scope)):
        errors.append(f"{where}scope: 'same', 'any' or an environment name")
    form, inferred = raw.get("form", "nickname"), raw.get("inferred")
    if form not in FORMS:
        errors.append(f"{where}form: one of {', '.join(FORMS)}")
    elif form != "nickname" and by is not None:
        errors.append(f"{where}form: {form!r} names a nickname; not with `by`")
    if inferred is not None and inferred not in INFERRED_HOW:
        errors.append(f"{where}inferred: one of {', '.join(INFERRED_HOW)}")
    if len(errors) > before:
        return None
    many = isinstance(spec, dict) and spec.get("type") == "array"
    return Reference(
        key=key,
        target_type=target,
        kind=kind,
        reads=tuple(reads),
        many=many,
        by=by,
        normalize=tuple(normalize),
        scope=scope,
        form=form,
        inferred=inferred,
    )


def _emits_problems(types: list[ComponentType]) -> list[str]:
    """Impact follows at most ONE emits_runtime_to hop per path (cypher/impact.cypher): an emitting type
    must be upstream of everything — its references all emit, and nothing emits into an emitter."""
    emitters = emitters_of(types)
    problems = []
    for t in types:
        for i, ref in enumerate(t.references):
            if t.name in emitters and ref.kind != "emits_runtime_to":
                problems.append(
                    f"{t.source}: references[{i}].kind: {t.name} emits its changes "
                    f"(emits_runtime_to), so it cannot also {ref.kind} another component"
                )
            if ref.kind == "emits_runtime_to" and ref.target_type in emitters:
                problems.append(
                    f"{t.source}: references[{i}].target: {ref.target_type} itself emits; "
                    "emits_runtime_to goes from an emitting type to a non-emitting one"
                )
    return problems


def schema_directory(directory: Path) -> Path:
    """Where a folder keeps its schema files: itself, or its `schemas/` (a config repository's root)."""
    directory = Path(directory)
    own = any(directory.glob(f"*{infer.SCHEMA_SUFFIX}"))
    return directory / "schemas" if not own and (directory / "schemas").is_dir() else directory


def undeclared_schemas(directory: Path, parts: dict[str, dict]) -> dict[str, Path]:
    """{type name: schema file} of the folder's schema files no declaration uses and no declaration is
    named after: each becomes an inferred type (never silently ignored)."""
    used = {p["schema_path"] for p in parts.values() if p.get("schema_path")}
    out = {}
    for path in sorted(schema_directory(directory).glob(f"*{infer.SCHEMA_SUFFIX}")):
        name = infer.type_name_of(path.name)
        if name and path.resolve() not in used and name not in parts and not path.name.startswith("."):
            out[name] = path
    return out


def inferred_documents(directory: Path, parts: dict[str, dict], errors: list[str]) -> dict[str, tuple[Path, dict]]:
    """{type name: (schema file, inferred declaration)} for the folder's undeclared schemas; a schema
    file that is no usable schema is an error naming it (a type nobody can load is never skipped)."""
    undeclared = undeclared_schemas(directory, parts)
    schemas: dict[str, dict] = {n: p["config_schema"] for n, p in parts.items()}
    for name, path in undeclared.items():
        if not ID_PART.match(name):
            errors.append(f"{path}: a type name is lower-case letters, digits and '-' ({name!r}); not inferred")
            continue
        try:
            schema = read_json(path)
        except (OSError, ValueError) as exc:
            errors.append(f"{path}: no declaration, and not a JSON Schema to infer one from: {exc}")
            continue
        problems = jsonschema_.check_schema(schema)
        if problems or schema.get("type", "object") != "object":
            errors.append(f"{path}: no declaration, and not a config schema to infer one from: {problems or 'type'}")
            continue
        schemas[name] = schema
    docs = infer.infer(schemas)
    return {n: (undeclared[n], docs[n]) for n in undeclared if n in docs}


def infer_directory(directory: Path) -> tuple[dict[str, tuple[Path, dict]], list[str]]:
    """Every schema of a folder (or of its `schemas/`) with the declaration inferred for it, declared
    or not (`karma types infer` writes them for review) → ({type: (schema file, document)}, errors)."""
    errors: list[str] = []
    if not Path(directory).is_dir():
        return {}, [f"{directory}: not a directory"]
    found = inferred_documents(directory, {}, errors)
    if not found and not errors:
        errors.append(f"{directory}: no schemas (*{infer.SCHEMA_SUFFIX}) here or in schemas/")
    return found, errors


def load_directory(directory: Path) -> list[ComponentType]:
    """Every type in `directory`, or TypeFileError listing every problem (file and field). A schema file
    with no declaration is inferred (`app.components.infer`) and logged; a folder of schemas alone loads."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TypeFileError([f"{directory}: not a directory of type files (KARMA_TYPES_DIR)"])
    files = type_files(directory)
    errors: list[str] = []
    parts = {p["name"]: p for path in files if (p := _parse(path, errors))}
    for name, (schema_path, doc) in inferred_documents(directory, parts, errors).items():
        part = _parse(schema_path.with_name(f"{name}.yaml"), errors, {**doc, "config_schema": schema_path.name})
        if part:
            parts[name] = part
            _log_inferred(name, schema_path, doc)
    if not files and not parts and not errors:
        raise TypeFileError([f"{directory}: no type declarations (*.yaml) and no schemas (*.schema.json)"])
    names = {path.stem for path in files} | set(parts)
    types = []
    for part in parts.values():
        refs = [
            _reference(raw, i, part, {**parts, **{n: {"config_schema": {}} for n in names - set(parts)}}, errors)
            for i, raw in enumerate(part["references"])
        ]
        seen = [r.key for r in refs if r]
        for key in {k for k in seen if seen.count(k) > 1}:
            errors.append(f"{part['path']}: references: key {key!r} declared twice")
        types.append(
            ComponentType(
                name=part["name"],
                description=part["description"],
                action=part["action"],
                config_schema=part["config_schema"],
                runtime_schema=part["runtime_schema"],
                references=tuple(r for r in refs if r),
                source=part["path"],
                schema_source=part["schema_path"],
                runtime_matches=part["runtime_matches"],
                inferred=part["inferred"],
            )
        )
    errors += _emits_problems(types)
    if errors:
        raise TypeFileError(errors)
    return sorted(types, key=lambda t: t.name)


def _log_inferred(name: str, schema_path: Path, doc: dict) -> None:
    log.warning(
        "type inferred from its schema (no declaration): review it with `karma types infer`",
        extra={
            "type": name,
            "schema": str(schema_path),
            "references": [f"{r['key']} -> {r['target']} ({r['inferred']})" for r in doc["references"]],
            "review": doc["review"],
        },
    )


def validate_directory(directory: Path) -> list[str]:
    """The problems `load_directory` would refuse the directory for (empty: it loads)."""
    try:
        load_directory(directory)
    except TypeFileError as exc:
        return exc.errors
    return []


# the active registry reads its types through this module (set here, so the registry never imports it)
registry.load_directory = load_directory
registry.default_directory = default_directory
