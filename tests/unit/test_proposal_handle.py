"""A stored transition keeps its proposal's `proposal_key`, not the id; a 409 component_in_transition
names that proposal by the handle the CLI printed for it (`prop-…`): the two digests must agree."""

from app.ids import handle_of
from app.transitions.service import proposal_handle, proposal_key


def test_the_handle_named_from_a_stored_proposal_key_is_the_cli_handle():
    for proposal_id in ("prop1.eyJzdGVwcyI6W119.c2ln", "prop1." + "x" * 700):
        assert proposal_handle(proposal_key(proposal_id)) == handle_of(proposal_id)
