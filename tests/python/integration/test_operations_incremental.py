"""Incremental staging and operations marts equal a full rebuild after a new day and late
rows land.

Data are split by `_loaded_at` at a cutoff: what was loaded before it is built first;
the rest (one more day, plus rows of earlier days that arrived late, re-sent copies and
rows without `_loaded_at`, whose others come in the first) is loaded and built
incrementally. Every incremental staging model (its every raw version, rank, verdict and
JSON), the staged views, the quarantine, the reconciliation and every operations mart
must then equal, row for row, a
`--full-refresh` build of all the data in a separate warehouse. The generator delivers
health checks and host metrics on time, so the test data are altered: three hours of them
from two days before the cutoff arrive two days late (in the second load), one service
is down from 6.5 days before the cutoff until 3 hours after it, so an outage started
before the first day the uptime marts rebuild runs on into the new load, and one user
with events in the first load arrives only in the second, so its events are orphans
first and staged after the incremental run re-judges them. Two late rows land on old days,
beyond every lookback: a CSAT answer for a day without survey answers and a down health
check (both in the second load), which change the daily points of the correlations mart
and so every window of 30 days holding them, and a request for a day 60 days back, which
changes every SLO window of 28 days holding it. Some re-sent keys differ from their other
copies only by spaces trim() removes, in the older copy or in the newer.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import END_DATE, DataSet, compiled_sql, fetch_rows, use_warehouse

from opsmetrics.bench import split_by_loaded_at
from opsmetrics.dbt_invoke import DbtError, run_dbt
from opsmetrics.load import load_duckdb
from opsmetrics.retention import Pruned, prune
from opsmetrics.settings import scoped_environment

CUTOFF = datetime(END_DATE.year, END_DATE.month, END_DATE.day)
OPERATIONS = [
    "models/marts/operations",
    "models/intermediate/operations",
    "models/marts/data_quality",
    # The incremental product fact (and what reads it for the rolling active users).
    "models/marts/product/fct_events.sql",
    "models/marts/product/fct_active_users_daily.sql",
]
INCREMENTAL_STAGING = [
    "base_platform__api_requests",
    "base_platform__health_checks",
    "base_platform__system_metrics",
    "base_product__events",
]
INCREMENTAL_MODELS = [
    *INCREMENTAL_STAGING,
    "fct_api_requests",
    "fct_api_requests_5min",
    "fct_api_requests_hourly",
    "fct_api_requests_daily",
    "fct_slo_daily",
    "fct_slo_rolling_28d",
    "fct_service_uptime_daily",
    "fct_resource_utilization_hourly",
    "fct_service_correlations_daily",
    "int_identity_map",
    "fct_events",
]
OUTAGE_SERVICE = "api-gateway"
OUTAGE_START = CUTOFF - timedelta(days=6, hours=12)
OUTAGE_END = CUTOFF + timedelta(hours=3)
LATE_START = CUTOFF - timedelta(days=2)
LATE_END = LATE_START + timedelta(hours=3)
LATE_USER_LOADED_AT = CUTOFF + timedelta(hours=1)
# A late survey answer for a day without answers, and a late down health check, on days
# whose 30-day windows do not overlap (each one alone must make its windows rebuilt).
LATE_ANSWER_ID = "rsp_late_answer"
LATE_ANSWER_DAY = CUTOFF - timedelta(days=75)
LATE_CHECK_SERVICE = "search"
LATE_CHECK_DAY = CUTOFF - timedelta(days=37)
LATE_ROWS_LOADED_AT = CUTOFF + timedelta(hours=4)
# A late request for a day more than two SLO windows (28 days) before every other day the
# second load touches: only the windows holding that day are rebuilt, and all of them must.
LATE_REQUEST_ID = "req_late_old_day"
LATE_REQUEST_DAY = CUTOFF - timedelta(days=60)
RESENT_AT = CUTOFF + timedelta(hours=2)
# Per big table: its key, a change that breaks a staging rule, one that does not, and
# which rows may be re-sent (flipping a check of the long outage would split it).
RESENT = {
    "api_requests": (
        "request_id",
        "-1.0 as response_time_ms",
        "response_time_ms + 1000 as response_time_ms",
        "true",
    ),
    "health_checks": (
        "check_id",
        "-1.0 as response_time_ms",
        "not is_up as is_up",
        f"service <> '{OUTAGE_SERVICE}'",
    ),
    "system_metrics": (
        "host || metric_name || sampled_at",
        "-1.0 as value",
        "value / 2 as value",
        "true",
    ),
    "events": ("event_id", "'{bad' as properties", "'{\"resent\": 1}' as properties", "true"),
}
# The raw key of each big table whose base model finds a key's versions by its raw text
# (source_by_reloaded_keys): resent_rows pads some copies' keys with spaces.
PADDED = {"api_requests": "request_id", "health_checks": "check_id", "events": "event_id"}
MARTS = {
    **{f"staging.{model}": ["version_key", "duplicate_rank"] for model in INCREMENTAL_STAGING},
    "staging.stg_platform__api_requests": ["request_id"],
    "staging.stg_platform__health_checks": ["check_id"],
    "staging.stg_platform__system_metrics": ["system_metric_id"],
    "staging.stg_product__events": ["event_id"],
    "staging.stg_platform__quarantine": ["source_table", "quarantined_row_id"],
    "staging.stg_product__quarantine": ["quarantined_row_id"],
    "marts.fct_staging_reconciliation": ["source_table"],
    "marts.fct_api_requests": ["request_id"],
    "marts.fct_api_requests_5min": ["service", "endpoint", "bucket_start"],
    "marts.fct_api_requests_hourly": ["service", "endpoint", "bucket_start"],
    "marts.fct_api_requests_daily": ["service", "endpoint", "request_date"],
    "marts.fct_slo_daily": ["service", "slo_date"],
    "marts.fct_slo_rolling_28d": ["service", "slo_date"],
    "marts.fct_service_uptime_daily": ["service", "check_date"],
    "marts.fct_service_uptime_monthly": ["service", "check_month"],
    "marts.fct_resource_utilization_hourly": ["service", "host", "hour_start"],
    "marts.fct_service_correlations_daily": ["service", "correlation_pair", "window_end_date"],
    "intermediate.int_outages_identified": ["service", "outage_number"],
    "intermediate.int_identity_map": ["anonymous_id"],
    "marts.fct_events": ["event_id"],
    "marts.fct_active_users_daily": ["activity_date"],
}


@dataclass
class Builds:
    incremental: Path
    full: Path
    incremental_sql: dict[str, str]
    history: Path
    after: Path
    with_parents: list[str]
    reidentified: dict[str, Identified]


def build_operations(args: list[str]) -> dict[str, str]:
    """dbt `args` over the operations models; returns the SQL compiled for each node."""
    return compiled_sql(run_dbt(args))


def late_user(source: Path) -> str:
    """A user with events loaded two days and more before the cutoff."""
    with duckdb.connect() as connection:
        return connection.execute(
            f"select min(users.user_id) from read_parquet('{source / 'users.parquet'}') users "
            f"join read_parquet('{source / 'events.parquet'}') events "
            "on users.user_id = events.user_id "
            f"where events._loaded_at < '{CUTOFF - timedelta(days=2)}'"
        ).fetchone()[0]


LATE_IDENTIFIED_AT = CUTOFF + timedelta(hours=1)
LATE_IDENTIFY_EVENT = "evt_late_identify"


def late_identification(source: Path) -> str:
    """One event loaded after the cutoff that identifies, as a user of the first load, an
    anonymous_id never identified before whose anonymous events were all loaded before
    the lookback: a full build attributes those old events to the user, so the
    incremental run must re-resolve them."""
    events = f"read_parquet('{source / 'events.parquet'}')"
    users = f"read_parquet('{source / 'users.parquet'}')"
    at = LATE_IDENTIFIED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"select '{LATE_IDENTIFY_EVENT}' as event_id, anonymous_id, "
        f"(select min(user_id) from {users} where _loaded_at < '{CUTOFF - timedelta(days=30)}') "
        "as user_id, 'user_logged_in' as event_name, '{}' as properties, "
        f"'{at}' as occurred_at, '{at}' as received_at, "
        f"timestamp '{LATE_IDENTIFIED_AT}' as _loaded_at "
        f"from (select min(anonymous_id) as anonymous_id from {events} "
        "where anonymous_id not in (select anonymous_id from "
        f"{events} where anonymous_id is not null and (user_id is not null "
        f"or _loaded_at >= '{CUTOFF - timedelta(days=5)}' or _loaded_at is null)))"
    )


# Two anonymous_ids of the history, every row of each loaded before the lookback, have
# their first identification re-sent broken after the cutoff: one identified as two users
# (its first identification is made another user's), so the second identification becomes
# the first, and one identified once, which leaves the map. A third gets a new
# identification without _loaded_at, earlier than its first.
REIDENTIFIED = ("shared", "only")
UNSTAMPED_IDENTIFY_EVENT = "evt_unstamped_identify"


@dataclass
class Identified:
    anonymous_id: str
    first_event: str
    first_user: str


def reidentified(source: Path, late: str) -> dict[str, Identified]:
    """An anonymous_id for each of REIDENTIFIED and "unstamped", whose events were all
    loaded before the lookback and whose identifications are valid JSON with a parseable
    time, an event_id raw holds once and a user (not `late`) loaded before the lookback:
    "shared" has two or more identifications, "only" one and anonymous events beside it,
    "unstamped" any other number."""
    events = f"read_parquet('{source / 'events.parquet'}')"
    users = f"read_parquet('{source / 'users.parquet'}')"
    lookback = CUTOFF - timedelta(days=5)
    query = f"""
        with identifications as (
            select
                anonymous_id, event_id, user_id,
                row_number() over (
                    partition by anonymous_id
                    order by try_cast(occurred_at as timestamptz), event_id
                ) as identification_rank,
                count(*) over (partition by anonymous_id) as identifications,
                count(case when
                    try_cast(occurred_at as timestamptz) is null or not json_valid(properties)
                    or user_id = '{late}'
                    or user_id not in (select user_id from {users} where _loaded_at < '{lookback}')
                    or event_id in (select event_id from {events} group by event_id
                        having count(*) > 1)
                    then 1 end) over (partition by anonymous_id) as unusable
            from {events}
            where user_id is not null and anonymous_id in (
                select anonymous_id from {events} group by anonymous_id
                having count(*) = count(case when _loaded_at < '{lookback}' then 1 end)
            )
        ),
        candidates as (
            select
                case
                    when identifications > 1 then 'shared'
                    when anonymous_id in (select anonymous_id from {events} where user_id is null)
                        then 'only'
                    else 'unstamped'
                end as kind,
                anonymous_id, event_id, user_id
            from identifications
            where identification_rank = 1 and unusable = 0
        )
        select kind, arg_min(anonymous_id, anonymous_id), arg_min(event_id, anonymous_id),
            arg_min(user_id, anonymous_id)
        from candidates group by kind
    """
    with duckdb.connect() as connection:
        return {kind: Identified(*ids) for kind, *ids in connection.execute(query).fetchall()}


def shared_identification(chosen: dict[str, Identified]) -> str:
    """The user_id column of the events with "shared"'s first identification made the user
    of "only"'s (another user: "shared" is identified as two)."""
    return (
        f"case when event_id = '{chosen['shared'].first_event}' "
        f"then '{chosen['only'].first_user}' else user_id end as user_id"
    )


def reidentifications(events: str, chosen: dict[str, Identified]) -> str:
    """The first identifications of REIDENTIFIED in `events` (a relation) re-sent broken
    after the cutoff, and UNSTAMPED_IDENTIFY_EVENT: the "unstamped" anonymous_id
    identified without _loaded_at, as another user, a day before its first identification."""
    resent = ", ".join(f"'{chosen[kind].first_event}'" for kind in REIDENTIFIED)
    unstamped = chosen["unstamped"]
    return (
        f"select * replace ('{{bad' as properties, timestamp '{RESENT_AT}' as _loaded_at) "
        f"from {events} where event_id in ({resent}) "
        f"union all by name select '{UNSTAMPED_IDENTIFY_EVENT}' as event_id, "
        f"'{unstamped.anonymous_id}' as anonymous_id, '{chosen['only'].first_user}' as user_id, "
        "'user_logged_in' as event_name, '{}' as properties, occurred_at, received_at, "
        "cast(null as timestamp) as _loaded_at "
        "from (select strftime(timezone('UTC', try_cast(occurred_at as timestamptz)) "
        "- interval 1 day, '%Y-%m-%dT%H:%M:%SZ') as occurred_at, received_at "
        f"from {events} where event_id = '{unstamped.first_event}')"
    )


def late_answer(source: Path) -> str:
    """A CSAT answer submitted on LATE_ANSWER_DAY, a day without answers in the tiny data,
    by the first customer, loaded after the cutoff."""
    customers = f"read_parquet('{source / 'customers.parquet'}')"
    at = (LATE_ANSWER_DAY + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"select '{LATE_ANSWER_ID}' as response_id, 'csat' as survey_type, "
        f"(select min(customer_id) from {customers}) as customer_id, "
        "cast(null as varchar) as user_id, 1.0 as score, cast(null as varchar) as comment, "
        f"'{at}' as submitted_at, timestamp '{LATE_ROWS_LOADED_AT}' as _loaded_at"
    )


def late_request(source: Path) -> str:
    """A copy, as LATE_REQUEST_ID loaded after the cutoff, of the first request loaded on
    LATE_REQUEST_DAY."""
    requests = f"read_parquet('{source / 'api_requests.parquet'}')"
    return (
        f"select * replace ('{LATE_REQUEST_ID}' as request_id, "
        f"timestamp '{LATE_ROWS_LOADED_AT}' as _loaded_at) from {requests} "
        f"where _loaded_at >= '{LATE_REQUEST_DAY + timedelta(hours=12)}' "
        f"and _loaded_at < '{LATE_REQUEST_DAY + timedelta(hours=13)}' "
        "order by request_id limit 1"
    )


def late_check(source: Path) -> str:
    """A health check of LATE_CHECK_SERVICE loaded at noon of LATE_CHECK_DAY."""
    with duckdb.connect() as connection:
        return connection.execute(
            f"select min(check_id) from read_parquet('{source / 'health_checks.parquet'}') "
            "where service = ? and _loaded_at >= ? and _loaded_at < ?",
            [
                LATE_CHECK_SERVICE,
                LATE_CHECK_DAY + timedelta(hours=12),
                LATE_CHECK_DAY + timedelta(hours=13),
            ],
        ).fetchone()[0]


def resent_rows(path: Path) -> str:
    """Rows of a big table loaded four days before the cutoff, sent again after it: one as
    it was, one broken (its latest copy is quarantined), one changed. For the tables of
    PADDED, three more whose keys differ only by spaces trim() removes: two whose key
    was padded in an extra copy an hour after the first (an ideographic space before it,
    an ASCII space after it) and is sent again plain, and one sent again padded."""
    key, broken, changed, allowed = RESENT[path.stem]
    rows = (
        f"select *, row_number() over (order by {key}) as resent_number "
        f"from read_parquet('{path}') where _loaded_at >= '{CUTOFF - timedelta(days=5)}' "
        f"and _loaded_at < '{CUTOFF - timedelta(days=4)}' and {key} is not null and {allowed}"
    )
    resent = f"timestamp '{RESENT_AT}' as _loaded_at"
    copies = [
        (f"{resent}", 1),
        (f"{broken}, {resent}", 2),
        (f"{changed}, {resent}", 3),
    ]
    if path.stem in PADDED:
        column = PADDED[path.stem]
        an_hour_later = "_loaded_at + interval 1 hour as _loaded_at"
        copies += [
            (f"chr(12288) || {column} as {column}, {an_hour_later}", 4),
            (resent, 4),
            (f"{column} || ' ' as {column}, {an_hour_later}", 5),
            (resent, 5),
            (f"'  ' || {column} as {column}, {resent}", 6),
        ]
    return " union all ".join(
        f"select * exclude (resent_number) replace ({change}) "
        f"from ({rows}) where resent_number = {number}"
        for change, number in copies
    )


def unstamped_in_both_loads(before: Path, after: Path) -> None:
    """Move every other row without `_loaded_at` of each big table (in the order of all
    its columns) from the second load `after` to the first `before`: rows without
    `_loaded_at` are then in both deliveries, and an incremental run must tell the new
    ones from those already staged."""
    with duckdb.connect() as connection:
        for table in RESENT:
            first, second = before / f"{table}.parquet", after / f"{table}.parquet"
            columns = ", ".join(
                f'"{name}"'
                for name, *_ in connection.execute(
                    f"describe select * from read_parquet('{second}')"
                ).fetchall()
            )
            numbered = (
                f"select *, row_number() over (order by {columns}) % 2 = 1 as moved "
                f"from read_parquet('{second}')"
            )
            connection.execute(f"create or replace temp table numbered as {numbered}")
            for path, rows in (
                (
                    first,
                    f"select * from read_parquet('{first}') union all by name "
                    "select * exclude (moved) from numbered where moved and _loaded_at is null",
                ),
                (
                    second,
                    "select * exclude (moved) from numbered "
                    "where not (moved and _loaded_at is null)",
                ),
            ):
                connection.execute(f"create or replace temp table rows as {rows}")
                connection.execute(f"copy rows to '{path}' (format parquet)")


def with_late_rows_and_long_outage(source: Path, out: Path) -> dict[str, Identified]:
    """Copy the raw tables of `source` to `out`: health checks and host metrics loaded
    between LATE_START and LATE_END are loaded two days later, every health check of
    OUTAGE_SERVICE loaded between OUTAGE_START and OUTAGE_END is down, late_user is
    loaded after the cutoff, rows of each big table are re-sent after it, an
    anonymous_id of the history is identified after it (late_identification), a CSAT
    answer for an old day arrives after it (late_answer) and so does late_check, down;
    identifications are re-sent broken and one arrives unstamped (reidentifications).
    Returns the anonymous_ids `reidentified` chose."""
    out.mkdir(parents=True, exist_ok=True)
    late = (
        f"case when _loaded_at >= '{LATE_START}' and _loaded_at < '{LATE_END}' "
        "then _loaded_at + interval 2 day else _loaded_at end as _loaded_at"
    )
    check = late_check(source)
    check_late = (
        f"case when check_id = '{check}' then timestamp '{LATE_ROWS_LOADED_AT}' "
        f"when _loaded_at >= '{LATE_START}' and _loaded_at < '{LATE_END}' "
        "then _loaded_at + interval 2 day else _loaded_at end as _loaded_at"
    )
    down = (
        f"case when check_id = '{check}' or (service = '{OUTAGE_SERVICE}' "
        f"and _loaded_at >= '{OUTAGE_START}' and _loaded_at < '{OUTAGE_END}') "
        "then false else is_up end as is_up"
    )
    late_user_id = late_user(source)
    chosen = reidentified(source, late_user_id)
    user_late = (
        f"case when user_id = '{late_user_id}' then timestamp '{LATE_USER_LOADED_AT}' "
        "else _loaded_at end as _loaded_at"
    )
    replacements = {
        "health_checks": f"{down}, {check_late}",
        "system_metrics": late,
        "users": user_late,
        "events": shared_identification(chosen),
    }
    with duckdb.connect() as connection:
        for path in sorted(source.glob("*.parquet")):
            replaced = replacements.get(path.stem)
            columns = f"* replace ({replaced})" if replaced else "*"
            rows = f"select {columns} from read_parquet('{path}')"
            if path.stem in RESENT:
                rows = f"{rows} union all by name {resent_rows(path)}"
            if path.stem == "api_requests":
                rows = f"{rows} union all by name ({late_request(source)})"
            if path.stem == "events":
                rows = (
                    f"{rows} union all by name {late_identification(source)} "
                    f"union all by name {reidentifications(f'({rows})', chosen)}"
                )
            if path.stem == "survey_responses":
                rows = f"{rows} union all by name {late_answer(source)}"
            connection.execute(f"copy ({rows}) to '{out / path.name}' (format parquet)")
    return chosen


@pytest.fixture(scope="module")
def builds(dirty: DataSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    root = tmp_path_factory.mktemp("operations_incremental")
    data, before, after = root / "data", root / "before", root / "after"
    chosen = with_late_rows_and_long_outage(dirty.out, data)
    split_by_loaded_at(data, before, after, CUTOFF)
    unstamped_in_both_loads(before, after)
    with_parents = ["--select", *(f"+{path}" for path in OPERATIONS)]

    incremental = root / "incremental.duckdb"
    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(incremental)}):
        load_duckdb(before)
        run_dbt(["seed"])
        build_operations(["run", *with_parents])
        history = root / "history.duckdb"
        shutil.copy(incremental, history)
        load_duckdb(after)
        cautious = ["--indirect-selection", "cautious"]
        incremental_sql = build_operations(
            ["build", *with_parents, "--exclude", "test_type:unit", *cautious]
        )

        full = root / "full.duckdb"
        use_warehouse(full)
        load_duckdb(data)
        run_dbt(["seed"])
        build_operations(["run", "--full-refresh", *with_parents])

        yield Builds(incremental, full, incremental_sql, history, after, with_parents, chosen)


def read(path: Path, table: str, keys: list[str]) -> pd.DataFrame:
    with duckdb.connect(str(path)) as connection:
        frame = connection.execute(f"select * from {table}").df()
    return frame.sort_values(keys).reset_index(drop=True)


def test_the_second_load_holds_a_new_day_and_late_rows_for_earlier_days(builds):
    [(new_day, late)] = fetch_rows(
        builds.full,
        "select count(*) filter (where request_date = ?), "
        "count(*) filter (where request_date < ?) "
        "from marts.fct_api_requests where _loaded_at >= ?",
        [CUTOFF.date(), CUTOFF.date(), CUTOFF],
    )
    assert new_day > 0
    assert late > 0


def test_the_second_load_holds_late_health_checks_and_host_metrics(builds):
    [(late_checks, late_samples)] = fetch_rows(
        builds.full,
        "select "
        "(select count(*) from staging.base_platform__health_checks "
        "where quarantine_reason is null and _loaded_at >= ? and checked_at < ?), "
        "(select count(*) from staging.base_platform__system_metrics "
        "where quarantine_reason is null and _loaded_at >= ? and sampled_at < ?)",
        [CUTOFF, CUTOFF, CUTOFF, CUTOFF],
    )
    assert late_checks > 0
    assert late_samples > 0


def test_the_second_load_holds_a_late_answer_and_a_late_down_check_for_old_days(builds):
    """Both change a daily point of the correlations: the answer adds one (its day had
    none), the check lowers the day's uptime."""
    [(answer_points, check_uptime, check_points)] = fetch_rows(
        builds.full,
        "select "
        "(select count(*) from marts.fct_service_correlations_daily "
        "where correlation_pair = 'uptime_vs_csat_score' and window_end_date = ? "
        "and ? in (select response_id from marts.fct_survey_responses)), "
        "(select uptime_pct from marts.fct_service_uptime_daily "
        "where service = ? and check_date = ?), "
        "(select count(*) from marts.fct_service_correlations_daily "
        "where service = ? and correlation_pair <> 'cpu_utilization_vs_latency_p95' "
        "and window_end_date = ?)",
        [
            LATE_ANSWER_DAY.date(),
            LATE_ANSWER_ID,
            LATE_CHECK_SERVICE,
            LATE_CHECK_DAY.date(),
            LATE_CHECK_SERVICE,
            LATE_CHECK_DAY.date(),
        ],
    )
    [(answers_before,)] = fetch_rows(
        builds.history,
        "select count(*) from marts.fct_survey_responses where submitted_date = ?",
        [LATE_ANSWER_DAY.date()],
    )
    assert answer_points > 0
    assert answers_before == 0
    assert check_uptime < 100
    assert check_points > 0


def test_the_second_load_holds_a_late_request_for_an_old_day(builds):
    """Its day lies more than two SLO windows before the other re-loaded days, so the
    rolling SLO mart must rebuild the windows holding it and no others between."""
    [(request_date,)] = fetch_rows(
        builds.full,
        "select request_date from marts.fct_api_requests where request_id = ?",
        [LATE_REQUEST_ID],
    )
    [(older,)] = fetch_rows(
        builds.full,
        "select count(*) from staging.base_platform__api_requests "
        "where _loaded_at >= ? and requested_at < ? and request_id <> ?",
        [CUTOFF - timedelta(days=3), CUTOFF - timedelta(days=40), LATE_REQUEST_ID],
    )
    assert request_date < (CUTOFF - timedelta(days=56)).date()
    assert older == 0


def test_an_outage_runs_from_before_the_rebuilt_days_into_the_new_load(builds):
    [(spanning,)] = fetch_rows(
        builds.full,
        "select count(*) from intermediate.int_outages_identified "
        "where service = ? and started_at < ? and ended_at >= ?",
        [OUTAGE_SERVICE, CUTOFF - timedelta(days=6), CUTOFF],
    )
    assert spanning == 1


@pytest.mark.parametrize("model", INCREMENTAL_STAGING)
def test_the_second_load_resends_keys_of_the_first_and_rows_without_loaded_at(builds, model):
    """Both loads hold versions of one key (so a re-sent row in the later delivery must
    win or count as a duplicate across deliveries), and the second holds unstamped rows."""
    [(resent, unstamped)] = fetch_rows(
        builds.full,
        f"select (select count(*) from (select version_key from staging.{model} "
        "group by version_key having min(_loaded_at) < ? and max(_loaded_at) >= ?)), "
        f"(select count(*) from staging.{model} where _loaded_at is null)",
        [CUTOFF, CUTOFF],
    )
    assert resent > 0
    assert unstamped > 0


@pytest.mark.parametrize("table", PADDED)
def test_keys_re_sent_after_the_cutoff_have_padded_versions_in_either_load(builds, table):
    """Keys with versions in both loads have versions whose raw key trim() changes, in
    the first load (an incremental run finds them by their trimmed key only) and in the
    second."""
    key = PADDED[table]
    [(padded_first, padded_second)] = fetch_rows(
        builds.incremental,
        f"select count(case when padded._loaded_at < ? then 1 end), "
        f"count(case when padded._loaded_at >= ? then 1 end) from raw.{table} padded "
        f"where padded.{key} <> trim(padded.{key}) and trim(padded.{key}) in "
        f"(select trim({key}) from raw.{table} group by trim({key}) "
        "having min(_loaded_at) < ? and max(_loaded_at) >= ?)",
        [CUTOFF, CUTOFF, CUTOFF, CUTOFF],
    )
    assert padded_first >= 2
    assert padded_second >= 1


@pytest.mark.parametrize("table", RESENT)
def test_both_loads_hold_rows_without_loaded_at(builds, table):
    [(first,)] = fetch_rows(
        builds.history, f"select count(*) from raw.{table} where _loaded_at is null"
    )
    [(both,)] = fetch_rows(
        builds.incremental, f"select count(*) from raw.{table} where _loaded_at is null"
    )
    assert 0 < first < both


def test_events_of_a_user_loaded_later_are_staged_once_the_user_arrives(builds):
    [(staged,)] = fetch_rows(
        builds.full,
        "select count(*) from staging.stg_product__events events "
        "join staging.stg_app__users users on events.user_id = users.user_id "
        "where users._loaded_at = ? and events._loaded_at < ?",
        [LATE_USER_LOADED_AT, CUTOFF],
    )
    assert staged > 0


def test_an_identification_loaded_last_re_resolves_events_loaded_before_the_lookback(builds):
    [(old_events, attributed)] = fetch_rows(
        builds.incremental,
        "select count(*), count(case when events.identity_source = 'identity_map' "
        "and events.user_id = late.user_id then 1 end) "
        "from marts.fct_events events join marts.fct_events late "
        "on events.anonymous_id = late.anonymous_id "
        "where late.event_id = ? and events.event_id <> late.event_id "
        "and events._loaded_at < ?",
        [LATE_IDENTIFY_EVENT, CUTOFF - timedelta(days=5)],
    )
    assert old_events > 0
    assert attributed == old_events


def identity(path: Path, anonymous_id: str) -> list[tuple]:
    return fetch_rows(
        path,
        "select user_id, identified_user_count, identified_at from intermediate.int_identity_map "
        "where anonymous_id = ?",
        [anonymous_id],
    )


def test_a_first_identification_re_sent_broken_hands_the_anonymous_id_to_the_second(builds):
    """Its second identification (another user, later) becomes the first: the map's row
    changes, and so do its anonymous events, with every event loaded before the lookback."""
    shared = builds.reidentified["shared"]
    [(user_before, users_before, at_before)] = identity(builds.history, shared.anonymous_id)
    [(user_after, users_after, at_after)] = identity(builds.full, shared.anonymous_id)
    assert (user_before, users_before) == (builds.reidentified["only"].first_user, 2)
    assert (user_after != user_before, users_after < users_before) == (True, True)
    assert at_after > at_before


def test_an_only_identification_re_sent_broken_leaves_the_map(builds):
    """Its row must be deleted, not left as it was: no new row replaces it."""
    anonymous_id = builds.reidentified["only"].anonymous_id
    assert len(identity(builds.history, anonymous_id)) == 1
    assert identity(builds.full, anonymous_id) == []


def test_an_identification_without_loaded_at_changes_nothing(builds):
    """Earlier than the anonymous_id's first identification, but quarantined."""
    anonymous_id = builds.reidentified["unstamped"].anonymous_id
    [(reason,)] = fetch_rows(
        builds.full,
        "select quarantine_reason from staging.base_product__events where event_id = ?",
        [UNSTAMPED_IDENTIFY_EVENT],
    )
    assert reason == "missing_loaded_at"
    assert identity(builds.full, anonymous_id) == identity(builds.history, anonymous_id)


@pytest.mark.parametrize("model", INCREMENTAL_STAGING)
def test_only_quarantined_rows_carry_their_raw_json(builds, model):
    [(quarantined, with_json, mismatched)] = fetch_rows(
        builds.incremental,
        "select count(quarantine_reason), count(raw_record), "
        "count(case when (quarantine_reason is null) <> (raw_record is null) then 1 end) "
        f"from staging.{model}",
    )
    assert quarantined > 0
    assert with_json == quarantined
    assert mismatched == 0


@pytest.mark.parametrize("model", INCREMENTAL_MODELS)
def test_the_second_build_ran_incrementally(builds, model):
    """The run read rows from a literal bound on `_loaded_at` (a cutoff) or on the event
    time (a first re-loaded day), i.e. took the incremental path."""
    bound = re.compile(
        r"(_loaded_at|checked_at|sampled_at) >= .{0,200}?'\d{4}-\d{2}-\d{2}", re.DOTALL
    )
    assert bound.search(builds.incremental_sql[model])


@pytest.mark.parametrize("table", MARTS)
def test_incremental_build_equals_full_refresh_row_for_row(builds, table):
    keys = MARTS[table]
    incremental = read(builds.incremental, table, keys)
    full = read(builds.full, table, keys)
    assert len(incremental) == len(full)
    # Sums may be added in another order on the two paths: floats agree to 1e-12.
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-12)


# Short enough to prune the tiny data set's older months, longer than the lookbacks.
TEST_RETENTION = {"api_requests": 60, "system_metrics": 60}


@dataclass
class PrunedBuild:
    warehouse: Path
    pruned: list[Pruned]
    refusal: str


@pytest.fixture(scope="module")
def pruned_build(builds: Builds, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrunedBuild]:
    """The history warehouse (first load, built) pruned, then the second load and an
    incremental build, as in `builds`; and what a --full-refresh afterwards says."""
    warehouse = tmp_path_factory.mktemp("pruned") / "pruned.duckdb"
    shutil.copy(builds.history, warehouse)
    pruned = prune(warehouse, TEST_RETENTION)
    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(warehouse)}):
        load_duckdb(builds.after)
        build_operations(["run", *builds.with_parents])
        with pytest.raises(DbtError) as refused:
            run_dbt(["run", "--full-refresh", "--select", "fct_api_requests_daily"])
        yield PrunedBuild(warehouse, pruned, str(refused.value))


def test_prune_deleted_raw_and_staged_rows_of_each_policy_table(pruned_build):
    assert sorted(p.table for p in pruned_build.pruned) == sorted(TEST_RETENTION)
    for result in pruned_build.pruned:
        assert result.raw_rows > 0
        assert result.staged_rows == result.raw_rows
    with duckdb.connect(str(pruned_build.warehouse), read_only=True) as connection:
        for result in pruned_build.pruned:
            left = connection.execute(
                f"select count(*) from raw.{result.table} where _loaded_at < ?",
                [result.loaded_before],
            ).fetchone()[0]
            assert left == 0


PRUNE_COMPARED = [
    table
    for table in MARTS
    if table.startswith(("marts.", "intermediate.")) and table != "marts.fct_staging_reconciliation"
]


@pytest.mark.parametrize("table", PRUNE_COMPARED)
def test_incremental_build_after_pruning_leaves_every_mart_unchanged(builds, pruned_build, table):
    """Every daily, hourly, 5-minute, rolling and monthly mart (and the request fact)
    after prune + the next delivery equals the build that never pruned. The
    reconciliation mart is left out: it counts raw rows, which pruning removes."""
    keys = MARTS[table]
    unpruned = read(builds.incremental, table, keys)
    after_prune = read(pruned_build.warehouse, table, keys)
    pd.testing.assert_frame_equal(after_prune, unpruned, check_exact=False, rtol=1e-12)


def test_full_refresh_after_pruning_is_refused_with_one_clear_line(pruned_build):
    assert "refusing --full-refresh" in pruned_build.refusal
    assert "allow_full_refresh_after_prune" in pruned_build.refusal


def test_a_replacing_load_forgets_the_prunes_so_the_demo_may_full_refresh(
    builds, pruned_build, tmp_path, monkeypatch
):
    """`load --replace` (the demo's load) makes raw a new data set: the pruned tables'
    entries leave retention.prune_log, which is all dbt's --full-refresh guard reads."""
    warehouse = tmp_path / "replaced.duckdb"
    shutil.copy(pruned_build.warehouse, warehouse)
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(warehouse))
    load_duckdb(builds.after, replace=True, allow_empty=True)
    assert fetch_rows(warehouse, "select count(*) from retention.prune_log") == [(0,)]
