"""The project's own Neo4j 5.26 Community server, run from Maven Central jars without Docker (tooling, not
product: the Docker image does not ship it).

- `settings`: `LocalNeo4jSettings` (the ``KARMA_NEO4J_*`` variables) and the neo4j.conf they make;
- `java`: Java discovery and the Maven-fetched jars;
- `process`: start / stop / status, the pid file, the password, readiness;
- `cli`: ``karma neo4j ...`` (registered through the ``karma.cli`` entry point).

``app`` never imports this package: the driver reaches the local server through the ``karma.neo4j`` entry
point ``local`` (`process.local_connection`).
"""

from karma_tools.neo4j_local.cli import neo4j_cli
from karma_tools.neo4j_local.java import (
    MAX_TESTED_JAVA,
    MIN_JAVA,
    POM,
    VERSION_MARKER,
    check_java,
    ensure_jars,
    find_java,
    jars_present,
    parse_java_version,
    required_jars,
)
from karma_tools.neo4j_local.process import (
    ADMIN_MAIN,
    ENTRY_POINT,
    JVM_FLAGS,
    StartResult,
    Status,
    connection_info,
    ensure_password,
    is_our_server,
    is_running,
    local_connection,
    pid_alive,
    port_in_use,
    process_cmdline,
    read_password,
    read_pid,
    server_command,
    set_initial_password,
    start,
    status,
    stop,
    thread_states,
    wait_stopped,
    write_pid,
)
from karma_tools.neo4j_local.settings import (
    DEFAULTS,
    REPO_ROOT,
    USER,
    Echo,
    LocalNeo4jSettings,
    Neo4jLocalError,
    load_settings,
    render_conf,
    write_conf,
)

__all__ = [
    "ADMIN_MAIN",
    "DEFAULTS",
    "ENTRY_POINT",
    "JVM_FLAGS",
    "MAX_TESTED_JAVA",
    "MIN_JAVA",
    "POM",
    "REPO_ROOT",
    "USER",
    "VERSION_MARKER",
    "Echo",
    "LocalNeo4jSettings",
    "Neo4jLocalError",
    "StartResult",
    "Status",
    "check_java",
    "connection_info",
    "ensure_jars",
    "ensure_password",
    "find_java",
    "is_our_server",
    "is_running",
    "jars_present",
    "load_settings",
    "local_connection",
    "neo4j_cli",
    "parse_java_version",
    "pid_alive",
    "port_in_use",
    "process_cmdline",
    "read_password",
    "read_pid",
    "render_conf",
    "required_jars",
    "server_command",
    "set_initial_password",
    "start",
    "status",
    "stop",
    "thread_states",
    "wait_stopped",
    "write_conf",
    "write_pid",
]
