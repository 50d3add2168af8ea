"""The one table of change-request status moves (app.changes.status)."""

import json

import pytest

from app.changes.status import TRANSITIONS, ChangeStatus, IllegalTransition, can_move, require, transition
from app.errors import Conflict

S = ChangeStatus
LEGAL = {
    S.PLANNED: {S.APPLIED, S.REJECTED, S.QUEUED, S.PENDING_APPROVAL},
    S.VALIDATED: {S.APPLIED, S.REJECTED, S.QUEUED, S.PENDING_APPROVAL},
    S.QUEUED: {S.APPLIED, S.REJECTED, S.PENDING_APPROVAL, S.CANCELLED, S.EXPIRED},
    S.PENDING_APPROVAL: {S.APPLIED, S.REJECTED, S.QUEUED, S.DENIED},
}


def test_statuses_serialise_as_todays_strings():
    assert [s.value for s in S] == [
        "planned",
        "validated",
        "applied",
        "rejected",
        "queued",
        "pending_approval",
        "cancelled",
        "expired",
        "denied",
    ]
    assert S.QUEUED == "queued" and str(S.PENDING_APPROVAL) == "pending_approval"
    assert json.dumps({"status": S.APPLIED}) == '{"status": "applied"}'


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_pair_follows_the_table(current, target):
    legal = target in LEGAL.get(current, set())
    assert can_move(current, target) is legal
    if legal:
        assert transition(current.value, target.value) is target
    else:
        with pytest.raises(IllegalTransition) as err:
            transition(current, target, change_id="chg-1")
        body = err.value.to_dict()
        assert err.value.status == 409 and body["cause"] == f"change_{current.value}"
        assert body["status"] == current.value and body["requested_status"] == target.value
        assert body["allowed"] == sorted(s.value for s in LEGAL.get(current, set()))
        assert "chg-1" in body["message"]


def test_terminal_statuses_have_no_way_out():
    for status in (S.APPLIED, S.REJECTED, S.CANCELLED, S.EXPIRED, S.DENIED):
        assert TRANSITIONS[status] == frozenset()


def test_require_is_a_409_naming_the_stored_status():
    assert require("queued", S.QUEUED) is S.QUEUED
    with pytest.raises(Conflict) as err:
        require("applied", S.QUEUED, change_id="chg-2", why="only a queued change can be cancelled")
    assert err.value.extra["cause"] == "change_applied" and err.value.extra["current_status"] == "applied"
    assert "only a queued change can be cancelled" in err.value.message


def test_an_unknown_stored_status_is_a_409_not_a_crash():
    with pytest.raises(Conflict) as err:
        transition("exploded", S.APPLIED)
    assert err.value.extra["cause"] == "unknown_status"


def test_an_error_body_keeps_its_http_status_whatever_its_details_are_named():
    """A 409 naming a stored change's state carries it as `current_status`: `status` is the HTTP status's
    name for every error (a client reading it took a 409 on rolling back a rejected change for 'rejected')."""
    from app.errors import envelope as _body

    body = _body(409, "Conflict", "conflict", "no", None, status="rejected", current_status="rejected", cause="x")
    assert (body["status"], body["current_status"], body["cause"]) == ("Conflict", "rejected", "x")
