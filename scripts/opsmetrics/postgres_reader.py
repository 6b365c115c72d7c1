"""The Postgres counterpart of the published snapshot: a read-only role for BI tools.

Postgres has no single-writer lock, so readers can use the warehouse itself; what they
must not do is write, or read what is not published. The role gets USAGE on the schemas
`marts` and `metrics` and SELECT on their tables, present and future (default privileges
of the role that builds them, so tables dbt or `export-metrics` recreate stay readable),
and nothing else: not raw, staging or intermediate, and no CREATE anywhere.
"""

from __future__ import annotations

import re

import psycopg2
from psycopg2 import sql

from opsmetrics.settings import postgres_params

READER_ROLE = "opsmetrics_reader"
READER_SCHEMAS = ("marts", "metrics")
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ReaderRoleError(Exception):
    """Bad role name or no server; the message is one line."""


def setup_reader_role(
    role: str = READER_ROLE,
    password: str | None = None,
    params: dict[str, str | int] | None = None,
) -> list[str]:
    """Create (or update) `role` with read access to marts and metrics only; returns the
    schemas it can read. With a password the role can log in, without one it is a group
    role to grant to BI users. Idempotent: run it after every new database."""
    if not ROLE_NAME.match(role):
        raise ReaderRoleError(f"invalid role name {role!r}: use lower-case letters, digits, _")
    identifier = sql.Identifier(role)
    try:
        connection = psycopg2.connect(**(params or postgres_params()))
    except psycopg2.Error as error:
        raise ReaderRoleError(f"cannot connect to Postgres: {str(error).strip()}") from error
    connection.autocommit = False
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("select 1 from pg_roles where rolname = %s", [role])
            verb = "alter" if cursor.fetchone() else "create"
            login = sql.SQL("login password {}").format(sql.Literal(password))
            cursor.execute(
                sql.SQL("{} role {} {}").format(
                    sql.SQL(verb),
                    identifier,
                    login if password else sql.SQL("nologin"),
                )
            )
            for schema in READER_SCHEMAS:
                name = sql.Identifier(schema)
                cursor.execute(sql.SQL("create schema if not exists {}").format(name))
                cursor.execute(sql.SQL("grant usage on schema {} to {}").format(name, identifier))
                cursor.execute(
                    sql.SQL("grant select on all tables in schema {} to {}").format(
                        name, identifier
                    )
                )
                cursor.execute(
                    sql.SQL(
                        "alter default privileges in schema {} grant select on tables to {}"
                    ).format(name, identifier)
                )
    except psycopg2.Error as error:
        raise ReaderRoleError(f"cannot set up role {role}: {str(error).strip()}") from error
    finally:
        connection.close()
    return list(READER_SCHEMAS)
