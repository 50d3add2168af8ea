"""Rule authoring tools, beside the engine (app.policy) and never inside it.

``cases`` (``karma rules test``: case files run through the service's pipeline on a ``fixture`` graph),
``replay`` (``karma rules replay``: the audited history re-evaluated), ``oracle`` (a reference evaluator of
the parsed rule, for the differential check), ``coverage`` (``karma rules coverage``). The engine does not
import this package, and neither does the change pipeline (app/changes): the dependency goes one way.
"""
