"""Java and the server jars of the local Neo4j: find a JDK 17+ and fetch the Neo4j jars with Maven.

The jars are those of ``neo4j/pom.xml`` (``mvn dependency:copy-dependencies``), one directory per version.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from karma_tools.neo4j_local.settings import (
    REPO_ROOT,
    Echo,
    LocalNeo4jSettings,
    Neo4jLocalError,
    load_settings,
    log,
    say,
    tail_text,
)

POM = REPO_ROOT / "neo4j" / "pom.xml"
MIN_JAVA = 17
MAX_TESTED_JAVA = 21  # 5.26 supports 17 and 21; newer JVMs get a warning, not a refusal.
VERSION_MARKER = ".neo4j-version"


# ------------------------------------------------------------------------------------------------------- java


def find_java(settings: LocalNeo4jSettings) -> str:
    if settings.java_home is not None:
        candidate = settings.java_home / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise Neo4jLocalError(
            f"JAVA_HOME is {settings.java_home} but {candidate} is not an executable. "
            f"Point JAVA_HOME at a JDK {MIN_JAVA}+ or unset it to use `java` from PATH."
        )
    found = shutil.which("java")
    if not found:
        raise Neo4jLocalError(
            f"No `java` found (JAVA_HOME unset, nothing on PATH). Install a JDK {MIN_JAVA} or {MAX_TESTED_JAVA} "
            "(e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
        )
    return found


def parse_java_version(text: str) -> int | None:
    """Major version from ``java -version`` output (``"17.0.15"`` -> 17, ``"1.8.0_392"`` -> 8)."""
    match = re.search(r'version "([0-9]+)(?:\.([0-9]+))?[^"]*"', text)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):
        return int(match.group(2))
    return major


def check_java(settings: LocalNeo4jSettings) -> tuple[str, int]:
    java = find_java(settings)
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Neo4jLocalError(f"Could not run `{java} -version`: {exc}") from exc
    major = parse_java_version(proc.stderr + proc.stdout)
    if major is None:
        raise Neo4jLocalError(f"Could not read the Java version from `{java} -version`: {proc.stderr.strip()!r}")
    if major < MIN_JAVA:
        raise Neo4jLocalError(
            f"{java} is Java {major}; Neo4j {settings.version} needs Java {MIN_JAVA} or {MAX_TESTED_JAVA}. "
            "Set JAVA_HOME to a newer JDK."
        )
    if major > MAX_TESTED_JAVA:
        log.warning("neo4j.java.untested", extra={"java": java, "java_major": major})
    return java, major


# ------------------------------------------------------------------------------------------------------- jars


BROWSER_JAR = "neo4j-browser-5.24.0.jar"  # neo4j/pom.xml: Neo4j Browser, served at /browser/ over HTTP


def required_jars(version: str) -> tuple[str, ...]:
    return (f"neo4j-{version}.jar", f"neo4j-command-line-{version}.jar", f"neo4j-bolt-{version}.jar", BROWSER_JAR)


def jars_present(lib: Path, version: str) -> bool:
    """True when ``lib`` holds the jars of ``version`` (and no version marker says otherwise)."""
    if not all((lib / name).is_file() for name in required_jars(version)):
        return False
    marker = lib / VERSION_MARKER
    if marker.is_file():
        return marker.read_text(encoding="utf-8").strip() == version
    return True


def ensure_jars(settings: LocalNeo4jSettings | None = None, echo: Echo | None = None, force: bool = False) -> Path:
    """Fetch the server jars into ``settings.lib`` with Maven unless the right version is already there."""
    settings = settings or load_settings()
    lib = settings.lib
    if not force and jars_present(lib, settings.version):
        log.debug("neo4j.jars.present", extra={"lib": str(lib), "version": settings.version})
        return lib
    mvn = shutil.which("mvn")
    if not mvn:
        raise Neo4jLocalError(
            f"Neo4j {settings.version} jars are missing from {lib} and `mvn` is not on PATH. Install Maven 3.8+ "
            "(e.g. `apt-get install maven`), or set KARMA_NEO4J_LIB to a directory that already holds them."
        )
    if not POM.is_file():
        raise Neo4jLocalError(f"{POM} is missing; it lists the jars to fetch. Restore it from git.")
    lib.parent.mkdir(parents=True, exist_ok=True)
    partial = lib.parent / f".{lib.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [
        mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}", "-DincludeScope=runtime", f"-Dneo4j.version={settings.version}",
    ]  # fmt: skip
    say(
        echo,
        f"Fetching Neo4j {settings.version} jars with Maven into {lib} (about 145 MB the first time)...",
        "neo4j.jars.fetch",
        lib=str(lib),
        version=settings.version,
    )
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
        if proc.returncode != 0:
            tail = tail_text((proc.stdout + proc.stderr).strip(), 25)
            raise Neo4jLocalError(
                f"Maven could not fetch the Neo4j {settings.version} jars (exit {proc.returncode}). Check network "
                f"access to Maven Central (or your ~/.m2/settings.xml mirror) and that the version exists.\n"
                f"Command: {' '.join(cmd)}\n{tail}"
            )
        missing = [name for name in required_jars(settings.version) if not (partial / name).is_file()]
        if missing:
            raise Neo4jLocalError(f"Maven ran but {', '.join(missing)} did not arrive in {partial}; see {POM}.")
        (partial / VERSION_MARKER).write_text(settings.version + "\n", encoding="utf-8")
        _replace_dir(partial, lib)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    jars = list(lib.glob("*.jar"))
    size_mb = sum(p.stat().st_size for p in jars) / 1e6
    seconds = time.monotonic() - started
    say(
        echo,
        f"Fetched {len(jars)} jars ({size_mb:.0f} MB) in {seconds:.1f} s.",
        "neo4j.jars.fetched",
        lib=str(lib),
        jars=len(jars),
        size_mb=round(size_mb, 1),
        seconds=round(seconds, 1),
    )
    return lib


def _replace_dir(new: Path, target: Path) -> None:
    if target.is_symlink():
        target.unlink()
    elif target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(new, target)
