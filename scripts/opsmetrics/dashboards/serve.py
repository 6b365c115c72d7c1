"""`opsmetrics dashboards`: run the Streamlit app on 127.0.0.1, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from opsmetrics import PROJECT_DIR
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.settings import check_target

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
    """The app's environment: this one with the chosen target (a copy; ours is unchanged)."""
    return {**os.environ, "OPSMETRICS_TARGET": check_target(target)}


def ensure_manifest(target: str) -> None:
    """The pages read KPI targets and thresholds from target/manifest.json: parse once
    when it is missing."""
    if not (PROJECT_DIR / "target" / "manifest.json").exists():
        run_dbt(["parse"], target=target)


def serve(port: int, target: str) -> int:
    """Run the app until interrupted; returns streamlit's exit code."""
    if not 1 <= port <= 65_535:
        raise ValueError(f"--port must be between 1 and 65535, not {port}")
    ensure_manifest(target)
    try:
        return subprocess.run(
            streamlit_command(port), env=app_environment(target), cwd=PROJECT_DIR, check=False
        ).returncode
    except KeyboardInterrupt:
        return 0
