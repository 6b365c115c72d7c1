"""opsmetrics: the Python side of the KPI layer (generate, load, quality, bench)."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
