"""opsmetrics: the Python side of the KPI layer (generate, load, quality, bench)."""

from pathlib import Path


def __getattr__(name: str) -> Path:
    """`opsmetrics.PROJECT_DIR`: the project this process works on, looked up when read
    (settings.project_dir(): --project-dir, OPSMETRICS_PROJECT_DIR or the working
    directory), never the package's install path. Package code calls project_dir()."""
    if name == "PROJECT_DIR":
        from opsmetrics.settings import project_dir

        return project_dir()
    raise AttributeError(f"module 'opsmetrics' has no attribute {name!r}")
