"""Apache Superset, the reference BI client, set up and driven from the project.

Superset lives in its own virtualenv (.venv-bi, pinned by bi/requirements.txt): its pins
(SQLAlchemy 1.4, DuckDB 1.x) conflict with ours, so nothing here imports it. This module
runs its CLI and talks to its REST API on 127.0.0.1. Superset keeps its metadata database,
secret key and admin password in SUPERSET_HOME (.venv-bi/home), outside the repository.
"""

from __future__ import annotations

import io
import os
import secrets
import socket
import subprocess
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

from opsmetrics.settings import postgres_params, project_dir, published_duckdb_path

ADMIN = "admin"
PUBLISHED_DATABASE = "opsmetrics published"
POSTGRES_DATABASE = "opsmetrics postgres marts"
READER_ROLE = "opsmetrics_reader"


class BiError(Exception):
    """Superset could not be set up, started or queried; one line says what failed."""


def bi_venv() -> Path:
    """The project's Superset virtualenv (`make bi`)."""
    return project_dir() / ".venv-bi"


def superset_bin() -> Path:
    return bi_venv() / "bin" / "superset"


def superset_home() -> Path:
    return Path(os.environ.get("OPSMETRICS_SUPERSET_HOME", bi_venv() / "home"))


def superset_env() -> dict[str, str]:
    """The environment Superset's commands run with (a copy; ours is not changed)."""
    return {
        **os.environ,
        "SUPERSET_HOME": str(superset_home()),
        "SUPERSET_CONFIG_PATH": str(project_dir() / "bi" / "superset_config.py"),
        "FLASK_APP": "superset",
        "PYTHONWARNINGS": "ignore",
    }


def _secret_file(name: str) -> str:
    """A secret Superset needs, generated once into SUPERSET_HOME (mode 600), never logged."""
    path = superset_home() / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def admin_password() -> str:
    return os.environ.get("OPSMETRICS_BI_ADMIN_PASSWORD") or _secret_file("admin_password")


def superset(*args: str, timeout: int = 900) -> str:
    """Run `superset <args>` from .venv-bi; BiError with its last output line on failure."""
    if not superset_bin().exists():
        raise BiError(f"no Superset at {superset_bin()}: run `make bi` first")
    done = subprocess.run(
        [str(superset_bin()), *args],
        env=superset_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        last = output.splitlines()[-1] if output else f"exit code {done.returncode}"
        raise BiError(f"superset {args[0]} failed: {last}")
    return output


def published_uri(path: Path | None = None) -> str:
    """The snapshot as Superset opens it: read-only, through duckdb-engine."""
    return f"duckdb:///{path or published_duckdb_path()}?access_mode=read_only"


def postgres_uri() -> str:
    """The Postgres marts as the read-only role sees them (password from the env)."""
    params = postgres_params()
    password = os.environ.get("OPSMETRICS_PG_READER_PASSWORD", "")
    credentials = f"{READER_ROLE}:{password}" if password else READER_ROLE
    return (
        f"postgresql+psycopg2://{credentials}@{params['host']}:{params['port']}/{params['dbname']}"
    )


def bundle_dir() -> Path:
    """bi/bundle: the dashboard bundle kept in the repo as Superset's export YAML."""
    return project_dir() / "bi" / "bundle"


def bundle_zip(published: Path | None = None) -> bytes:
    """bi/bundle (Superset's export YAML) as the zip Superset imports, with the database
    pointed at this machine's published snapshot."""
    bundle = bundle_dir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(bundle.rglob("*.yaml")):
            content = yaml.safe_load(path.read_text())
            if path.parent.name == "databases":
                content["sqlalchemy_uri"] = published_uri(published)
            archive.writestr(f"bundle/{path.relative_to(bundle)}", yaml.safe_dump(content))
    return buffer.getvalue()


def setup(published: Path | None = None) -> list[str]:
    """Initialise Superset's metadata, the admin user, the databases and the dashboard
    bundle. Idempotent. Returns what was registered."""
    _secret_file("secret_key")
    superset("db", "upgrade")
    users = superset("fab", "list-users")
    if f"username:{ADMIN} " not in users:
        superset(
            "fab", "create-admin", "--username", ADMIN, "--firstname", "Ops",
            "--lastname", "Metrics", "--email", "admin@localhost",
            "--password", admin_password(),
        )  # fmt: skip
    superset("init")
    archive = superset_home() / "bundle.zip"
    archive.write_bytes(bundle_zip(published))
    superset("import-dashboards", "--path", str(archive), "--username", ADMIN)
    registered = [f"{PUBLISHED_DATABASE}: {published_uri(published)}"]
    if os.environ.get("OPSMETRICS_PG_HOST"):
        registered.append(register_postgres())
    return registered


def register_postgres() -> str:
    """Register (or re-point) the Postgres warehouse in Superset as the read-only role of
    `opsmetrics postgres-reader`; returns what was registered, without the password."""
    superset("set-database-uri", "--database_name", POSTGRES_DATABASE, "--uri", postgres_uri())
    return f"{POSTGRES_DATABASE}: {READER_ROLE}@{postgres_uri().split('@')[-1]}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_superset(port: int | None = None, log: Path | None = None) -> Iterator[str]:
    """Superset's web server on 127.0.0.1, headless, until the block ends; yields its URL."""
    port = port or free_port()
    log = log or superset_home() / "server.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        server = subprocess.Popen(
            [superset_bin(), "run", "--host", "127.0.0.1", "--port", str(port), "--with-threads"],
            env=superset_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(url, server, log)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BiError(f"Superset exited with code {server.returncode}; see {log}")
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise BiError(f"Superset did not answer on {url}/health within {timeout:.0f} s; see {log}")


class SupersetClient:
    """The REST API as the admin: JWT login, CSRF token for writes."""

    def __init__(self, url: str, password: str | None = None) -> None:
        self.url = url
        self.session = requests.Session()
        login = self.session.post(
            f"{url}/api/v1/security/login",
            json={
                "username": ADMIN,
                "password": password or admin_password(),
                "provider": "db",
                "refresh": True,
            },
            timeout=60,
        )
        if login.status_code != 200:
            raise BiError(f"Superset login failed: HTTP {login.status_code}")
        self.session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        token = self.get("/api/v1/security/csrf_token/")["result"]
        self.session.headers.update({"X-CSRFToken": token, "Referer": url})

    def _checked(self, response: requests.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise BiError(
                f"Superset {response.request.method} {response.url}: HTTP "
                f"{response.status_code} {response.text[:300]}"
            )
        return response.json()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._checked(self.session.get(f"{self.url}{path}", params=params, timeout=120))

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._checked(self.session.post(f"{self.url}{path}", json=body, timeout=300))

    def put(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._checked(self.session.put(f"{self.url}{path}", json=body, timeout=300))

    def datasets(self) -> list[dict[str, Any]]:
        query = "(columns:!(id,table_name,schema,database.database_name),page_size:100)"
        return self.get("/api/v1/dataset/", q=query)["result"]

    def database_id(self, name: str) -> int:
        query = f"(filters:!((col:database_name,opr:eq,value:'{name}')))"
        found = self.get("/api/v1/database/", q=query)["result"]
        if not found:
            raise BiError(f"Superset has no database {name!r}: run `make bi`")
        return int(found[0]["id"])

    def dataset_columns(self, dataset_id: int) -> set[str]:
        """The columns Superset knows of a dataset (as imported from bi/bundle)."""
        dataset = self.get(f"/api/v1/dataset/{dataset_id}")["result"]
        return {column["column_name"] for column in dataset["columns"]}

    def dataset_rows(self, dataset_id: int) -> list[dict[str, Any]]:
        """Every row of a dataset, every column it knows, as Superset's chart-data API
        returns it."""
        body = {
            "datasource": {"id": dataset_id, "type": "table"},
            "queries": [
                {
                    "columns": sorted(self.dataset_columns(dataset_id)),
                    "metrics": [],
                    "row_limit": 100000,
                    "orderby": [],
                }
            ],
            "result_format": "json",
            "result_type": "full",
        }
        result = self.post("/api/v1/chart/data", body)["result"][0]
        if result.get("error"):
            raise BiError(f"dataset {dataset_id}: {result['error']}")
        return result["data"]

    def sql(self, database_id: int, statement: str) -> list[dict[str, Any]]:
        """The rows of `statement` run in SQL Lab on a registered database; BiError with
        the database's own message when it refuses."""
        response = self.session.post(
            f"{self.url}/api/v1/sqllab/execute/",
            json={
                "database_id": database_id,
                "sql": statement,
                "runAsync": False,
                "queryLimit": 100000,
            },
            timeout=300,
        )
        if response.status_code >= 400:
            errors = response.json().get("errors") or [{"message": response.text[:300]}]
            message = " ".join(str(error.get("message", "")) for error in errors)
            raise BiError(f"SQL Lab refused: {message}")
        return response.json()["data"]
