"""Every error body names a field by one path format, the gate's `changes[1].proposed_change.zone_name`:
marshmallow's nested messages used to reach a client as `{"changes": {"0": {"op": [...]}}}`."""

from __future__ import annotations

from app.errors import envelope, field_paths


def test_nested_schema_messages_are_named_by_path():
    nested = {"changes": {0: {"op": ["bad op"], "_schema": ["whole item"]}, 3: {"config": {"cidr": ["no"]}}}}
    assert field_paths(nested) == {
        "changes[0].op": ["bad op"],
        "changes[0]": ["whole item"],
        "changes[3].config.cidr": ["no"],
    }


def test_flat_paths_and_locations_pass_as_they_are():
    flat = {"changes[1].proposed_change.zone_name": ["x"], "query.status": ["y"], "_schema": ["z"], "body": "w"}
    assert field_paths(flat) == {**flat, "body": ["w"]}
    assert field_paths(field_paths(flat)) == field_paths(flat)


def test_the_envelope_is_where_every_body_is_flattened():
    body = envelope(422, "Unprocessable Entity", "validation_failed", "m", {"changes": {1: {"kind": ["k"]}}})
    assert body["errors"] == {"changes[1].kind": ["k"]}


def test_what_gunicorn_answers_itself_is_named_by_its_code():
    """gunicorn answers an unknown Transfer-Encoding `501 Bad Request`: the status line and the body's
    `status` said one code's name with another's number."""
    import json
    import socket

    from app.gunicorn_worker import write_json_error

    ours, theirs = socket.socketpair()
    with ours, theirs:
        write_json_error(ours, 501, "Bad Request", "Unsupported transfer coding: 'bogus'")
        head, _, body = theirs.recv(65536).partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 501 Not Implemented"
    said = json.loads(body)
    assert said["code"] == 501 and said["status"] == "Not Implemented", said
    assert said["cause"] == "unsupported_transfer_coding" and "bogus" in said["message"]
