"""Every Bolt read and write waits at most until the request's deadline (app/reliability/deadline.py).

Why here: the driver bounds connecting (`connection_timeout`) and the pool (`connection_acquisition_timeout`)
but not an answer: a server that accepted a query and then says nothing — restarting, warming up on a
loaded machine, frozen — holds the request until the server-side transaction timeout fires (if it
does), far past the 2 s in which a client should learn that the database is unavailable. Each socket
wait gets a timeout no later than the request's deadline; running out is a socket timeout (an OSError),
which the driver handles everywhere as a lost connection — the connection is defunct, the server rolls
back what was not committed, and the driver raises ServiceUnavailable / SessionExpired, or
IncompleteCommit if COMMIT was in flight (answered `outcome_unknown`). (The driver's own socket
deadline would raise its private SocketDeadlineExceededError, which some paths — the handshake — let
escape as a bare RuntimeError: so the request's bound is given as a timeout, not as a deadline.)

`BoltSocketBase._wait_for_io` is private to the driver (pinned in pyproject.toml, like `_pipelined_begin`);
`install` refuses to start if it is missing, and a unit test checks the hook is in place.
"""

from __future__ import annotations

from app.graph import driver_hooks
from app.reliability import deadline, stall


def _bounded(original):
    def bounded_wait(self, name, timeout, own_deadline, conversion, func, *args, **kwargs):
        left = deadline.remaining()
        if left is not None:
            if left <= 0:
                raise TimeoutError(f"Bolt {name}: the request deadline has passed")
            timeout = left if timeout is None else min(timeout, left)
        with stall.waiting(self._socket):  # a frozen server is noticed by the watchdog (stall.py)
            return original(self, name, timeout, own_deadline, conversion, func, *args, **kwargs)

    return bounded_wait


def _socket_class():
    from neo4j._async_compat.network._bolt_socket import BoltSocketBase  # noqa: PLC0415 - private, pinned

    return BoltSocketBase


def install() -> None:
    """Idempotent; called when a driver is opened."""
    driver_hooks.wrap(
        _socket_class(),
        "_wait_for_io",
        _bounded,
        missing="neo4j driver without BoltSocketBase._wait_for_io: the request deadline cannot bound "
        "Bolt waits; use the driver version pinned in pyproject.toml",
    )


def installed() -> bool:
    return driver_hooks.wrapped(_socket_class(), "_wait_for_io")
