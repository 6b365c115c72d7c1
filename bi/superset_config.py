"""Superset configuration for the local BI client of opsmetrics (`make bi`).

Everything Superset keeps (its metadata database, the secret key) lives in SUPERSET_HOME
(.venv-bi/home by default), outside the repository. The secret key comes from
SUPERSET_SECRET_KEY, or from the file `make bi` generates there once.
"""

import os
from pathlib import Path

_HOME = Path(os.environ["SUPERSET_HOME"])
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY") or (_HOME / "secret_key").read_text().strip()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_HOME / 'superset.db'}"
# Local only: no telemetry, no example data, nothing fetched from outside at runtime.
SUPERSET_WEBSERVER_ADDRESS = "127.0.0.1"
FEATURE_FLAGS = {"DASHBOARD_RBAC": False}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
RATELIMIT_ENABLED = False
