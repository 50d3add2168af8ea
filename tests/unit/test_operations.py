"""The operations a change set holds are one list (app.changes.operations): the API's schema, the load
guard (app.import_guard), the pipeline and the audit read it, so an operation added there is taken,
guarded, undone and shown everywhere at once (import_guard kept its own CONFIG_OPS, the API its own list
of five, three modules the edge ops)."""

from __future__ import annotations

from app import import_guard
from app.api.schemas import OperationSchema
from app.audit import entries
from app.changes import commit, gate, operations


def test_the_load_guard_the_api_and_the_pipeline_read_the_one_list_of_operations():
    assert import_guard.CONFIG_OPS is operations.CONFIG_OPS
    assert OperationSchema().fields["op"].validate.choices is operations.OPS
    assert gate.EDGE_OPS is commit.EDGE_OPS is entries.EDGE_OPS is operations.EDGE_OPS
