"""`opsmetrics dashboards`: run the Streamlit app on 127.0.0.1, offline."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.settings import check_target, child_environment, project_dir

APP = Path(__file__).parent / "app.py"


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """`streamlit run` of the app, headless, with no usage statistics or file watcher."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--client.showErrorDetails",
        "none",
    ]


def app_environment(target: str) -> dict[str, str]:
    """The app's environment: this one with the chosen target, this project and warehouse
    (a copy; ours is unchanged)."""
    return child_environment(OPSMETRICS_TARGET=check_target(target))


def ensure_manifest(target: str) -> None:
    """The pages read KPI targets and thresholds from target/manifest.json: parse once
    when it is missing."""
    if not (project_dir() / "target" / "manifest.json").exists():
        run_dbt(["parse"], target=target)


def check_options(port: int, target: str) -> None:
    """Raise ValueError (one line for the user) on a bad port or target."""
    check_target(target)
    if not 1 <= port <= 65_535:
        raise ValueError(f"--port must be between 1 and 65535, not {port}")


def serve(port: int, target: str) -> int:
    """Run the app until interrupted; returns streamlit's exit code."""
    check_options(port, target)
    ensure_manifest(target)
    try:
        return subprocess.run(
            streamlit_command(port), env=app_environment(target), cwd=project_dir(), check=False
        ).returncode
    except KeyboardInterrupt:
        return 0


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on now (for tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    """Wait for Streamlit's health endpoint; fail when the server died or the time ran out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {server.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not healthy after {timeout:.0f} s") from None
            time.sleep(0.5)


@contextmanager
def running_app(published: Path) -> Iterator[str]:
    """The app served by `streamlit run` on a free port of 127.0.0.1, reading the snapshot
    `published`, until the block ends; yields its URL (tests and the benchmark)."""
    port = free_port()
    environment = {**app_environment("duckdb"), "OPSMETRICS_PUBLISHED_PATH": str(published)}
    server = subprocess.Popen(
        streamlit_command(port),
        cwd=project_dir(),
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
