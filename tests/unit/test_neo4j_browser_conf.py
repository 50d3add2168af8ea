"""The local Neo4j's HTTP connector (Neo4j Browser at /browser/): off by default, on with KARMA_NEO4J_HTTP_PORT."""

from __future__ import annotations

from pathlib import Path

import pytest

from karma_tools.neo4j_local import java
from karma_tools.neo4j_local.settings import LocalNeo4jSettings, Neo4jLocalError, render_conf


def _conf(env: dict) -> dict[str, str]:
    text = render_conf(LocalNeo4jSettings.from_env(env))
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_http_off_by_default_and_on_when_asked(tmp_path: Path):
    assert _conf({"KARMA_NEO4J_HOME": str(tmp_path)})["server.http.enabled"] == "false"
    conf = _conf({"KARMA_NEO4J_HOME": str(tmp_path), "KARMA_NEO4J_HTTP_PORT": "7474"})
    assert conf["server.http.enabled"] == "true" and conf["server.http.listen_address"] == "127.0.0.1:7474"
    assert conf["server.bolt.advertised_address"] == "127.0.0.1:7687"
    assert conf["server.https.enabled"] == "false"


@pytest.mark.parametrize("bad", ["-1", "70000", "http", "7687"])
def test_bad_http_ports_are_refused(tmp_path: Path, bad: str):
    with pytest.raises(Neo4jLocalError):
        LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path), "KARMA_NEO4J_HTTP_PORT": bad})


def test_the_browser_jar_is_required(tmp_path: Path):
    assert java.BROWSER_JAR in java.required_jars("5.26.30")
    pom = (Path(__file__).resolve().parents[2] / "neo4j" / "pom.xml").read_text()
    assert "<artifactId>neo4j-browser</artifactId>" in pom and java.BROWSER_JAR.split("-")[-1][:-4] in pom
