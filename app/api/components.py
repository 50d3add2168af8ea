"""/components, /graph: reading the graph; PUT runtime outputs from deploy pipelines."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask_smorest import Blueprint

from app import render
from app.api.auth import current_principal, identity
from app.api.context import services
from app.api.pictures import negotiated, picture_doc, requested_format
from app.api.schemas import (
    RUNTIME_REPORT,
    ComponentDetail,
    ComponentListArgs,
    ComponentPage,
    GraphArgs,
    GraphResult,
    ImpactResult,
    RuntimeUpdateSchema,
    TypeList,
    VersionList,
)

blp = Blueprint("components", __name__, description="Components, their dependencies and impact")
# `/components/foo` matches no route (an id has a type: `<type>/<nickname>`): rather than the router's bare
# "URL not found", the 404 that says it is no component id and what one looks like. Not in the OpenAPI
# document: there is no such resource.
no_id = FlaskBlueprint("component_ids", __name__)


@no_id.route("/components/<component_id>")
def not_a_component_id(component_id):
    return services().components.get(component_id)  # one segment is never an id: its 404 (malformed)


@blp.route("/components")
@blp.arguments(ComponentListArgs, location="query")
@blp.response(200, ComponentPage)
def list_components(args):
    """List components (filter by type, environment and a piece of the id; paginated)."""
    return services().components.list(
        type_=args.get("type"),
        environment=args.get("environment"),
        name=args.get("name"),
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.route("/components/<ctype>/<nickname>")
@blp.response(200, ComponentDetail)
def get_component(ctype, nickname):
    """One component: config, runtime, version, dependencies both ways."""
    return services().components.get(f"{ctype}/{nickname}")


@blp.route("/components/<ctype>/<nickname>/impact")
@blp.response(200, ImpactResult)
@blp.doc(**picture_doc("ImpactResult"))
def get_impact(ctype, nickname):
    """Components a change to this one propagates to, with depth, path and edge kinds.

    `?format=mermaid|dot|svg` (or `Accept: text/vnd.mermaid | text/vnd.graphviz | image/svg+xml`) draws it."""
    fmt = requested_format()
    return negotiated(services().components.impact(f"{ctype}/{nickname}"), render.from_impact, fmt)


@blp.route("/components/<ctype>/<nickname>/versions")
@blp.alt_response(200, schema=VersionList, success=True)
def get_versions(ctype, nickname):
    """Every kept config/runtime version, newest first."""
    return {"component": f"{ctype}/{nickname}", "versions": services().components.versions(f"{ctype}/{nickname}")}


@blp.route("/components/<ctype>/<nickname>/runtime", methods=["PUT"])
@blp.arguments(RuntimeUpdateSchema, example=RUNTIME_REPORT)
@blp.response(200, ComponentDetail)
def put_runtime(body, ctype, nickname):
    """Record the runtime outputs a deploy reports (validated against the type; versioned)."""
    return services().components.update_runtime(
        f"{ctype}/{nickname}", body["runtime"], identity(body.get("reported_by")), actor=current_principal()
    )


# Environment-qualified ids (`<environment>/<type>/<nickname>`, README "Component ids"): the same views.
@blp.route("/components/<environment>/<ctype>/<nickname>")
@blp.response(200, ComponentDetail)
def get_qualified_component(environment, ctype, nickname):
    """One component by its environment-qualified id."""
    return services().components.get(f"{environment}/{ctype}/{nickname}")


@blp.route("/components/<environment>/<ctype>/<nickname>/impact")
@blp.response(200, ImpactResult)
@blp.doc(**picture_doc("ImpactResult"))
def get_qualified_impact(environment, ctype, nickname):
    """Impact of a change to a component named by its environment-qualified id (`?format=` as above)."""
    fmt = requested_format()
    return negotiated(services().components.impact(f"{environment}/{ctype}/{nickname}"), render.from_impact, fmt)


@blp.route("/components/<environment>/<ctype>/<nickname>/versions")
@blp.alt_response(200, schema=VersionList, success=True)
def get_qualified_versions(environment, ctype, nickname):
    """Every kept version of a component named by its environment-qualified id."""
    cid = f"{environment}/{ctype}/{nickname}"
    return {"component": cid, "versions": services().components.versions(cid)}


@blp.route("/components/<environment>/<ctype>/<nickname>/runtime", methods=["PUT"])
@blp.arguments(RuntimeUpdateSchema, example=RUNTIME_REPORT)
@blp.response(200, ComponentDetail)
def put_qualified_runtime(body, environment, ctype, nickname):
    """Runtime outputs of a component named by its environment-qualified id."""
    return services().components.update_runtime(
        f"{environment}/{ctype}/{nickname}",
        body["runtime"],
        identity(body.get("reported_by")),
        actor=current_principal(),
    )


@blp.route("/graph")
@blp.arguments(GraphArgs, location="query")
@blp.response(200, GraphResult)
def get_graph(args):
    """The component graph as nodes and edges."""
    return services().components.graph(args.get("environment"))


@blp.route("/types")
@blp.response(200, TypeList)
def list_types():
    """The registered component types: config keys, references, runtime outputs, actions."""
    return services().types()
