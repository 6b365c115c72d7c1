"""The PII salt as a run-time secret: never part of any SQL text dbt writes or logs.

`hash_pii` reads the salt from the engine's session, not from a literal: on DuckDB the
variable `pii_salt` (`getvariable('pii_salt')`), which `Plugin` below binds as a query
parameter on every connection and cursor dbt-duckdb opens (profiles.yml lists it under
`plugins`); on Postgres the custom setting `opsmetrics.pii_salt` of the session
(`PGOPTIONS='-c opsmetrics.pii_salt=…'` or `alter role … set opsmetrics.pii_salt = …`).
The value comes from OPSMETRICS_PII_SALT; without it the demo salt is used, and a
warning is printed when the raw data holds an address outside the reserved example
domains (i.e. it is not generated data).
"""

from __future__ import annotations

import os
import re
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.events.logging import AdapterLogger

SALT_ENV = "OPSMETRICS_PII_SALT"
DEMO_SALT = "opsmetrics-demo-salt"
DUCKDB_VARIABLE = "pii_salt"
POSTGRES_SETTING = "opsmetrics.pii_salt"
# RFC 2606 / 6761 reserved names: no real mailbox lives there, so hashing such addresses
# with a public salt exposes nobody. The generator writes `<name>@<word>.example`.
RESERVED_EMAIL = re.compile(r"@([^@]+\.)?(example|example\.(com|org|net)|test|invalid)$")
DEMO_SALT_WARNING = (
    f"{SALT_ENV} is not set: hashing real email addresses with the public demo salt, "
    "which lets anyone with a list of candidate addresses reverse the hashes. "
    f"Set {SALT_ENV} to a secret (see README, PII salt)."
)

logger = AdapterLogger("opsmetrics")


def pii_salt() -> str:
    """The salt for this run: OPSMETRICS_PII_SALT, else the public demo salt."""
    return os.environ.get(SALT_ENV) or DEMO_SALT


def is_demo_salt() -> bool:
    return pii_salt() == DEMO_SALT


def emails_outside_reserved_domains(emails: list[str]) -> list[str]:
    """The addresses that could belong to a real person (not a reserved example domain)."""
    return [e for e in emails if e and not RESERVED_EMAIL.search(e.strip().lower())]


def postgres_options(salt: str | None = None) -> str:
    """A libpq `options` / PGOPTIONS value setting the Postgres session's salt (spaces
    and backslashes escaped as libpq requires)."""
    value = (salt if salt is not None else pii_salt()).replace("\\", "\\\\").replace(" ", "\\ ")
    return f"-c {POSTGRES_SETTING}={value}"


class Plugin(BasePlugin):
    """dbt-duckdb plugin: bind the salt to every connection and cursor as a variable."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._warned = False

    def configure_connection(self, conn: Any) -> None:
        self._set_salt(conn)
        if is_demo_salt() and not self._warned:
            self._warned = True
            if _raw_holds_real_addresses(conn):
                logger.warning(DEMO_SALT_WARNING)

    def configure_cursor(self, cursor: Any) -> None:
        self._set_salt(cursor)

    @staticmethod
    def _set_salt(connection: Any) -> None:
        # A bound parameter: the value never enters the statement text.
        connection.execute(f"set variable {DUCKDB_VARIABLE} = ?", [pii_salt()])


def _raw_holds_real_addresses(conn: Any) -> bool:
    """True when raw.customers or raw.users holds an address outside the reserved
    domains; False when they are missing (nothing loaded yet)."""
    for table in ("customers", "users"):
        try:
            rows = conn.execute(
                f"select distinct email from raw.{table} where email is not null"
            ).fetchall()
        except duckdb.CatalogException:  # not loaded yet: nothing to judge
            continue
        if emails_outside_reserved_domains([row[0] for row in rows]):
            return True
    return False
