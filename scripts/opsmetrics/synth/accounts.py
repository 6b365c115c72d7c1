"""Customers and their users: who signs up, from where, through which channel."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from opsmetrics.contract import raw_tables
from opsmetrics.settings import project_dir
from opsmetrics.synth.common import (
    DAY,
    MINUTE,
    Context,
    floor_to_precision,
    iso_sql,
    loaded_after,
    lookup_sql,
    pick,
)
from opsmetrics.synth.writer import Defect, TableBuild, standard_defects

COUNTRIES = {
    "US": 0.40, "GB": 0.10, "DE": 0.09, "FR": 0.06, "CA": 0.06, "AU": 0.05,
    "JP": 0.04, "NL": 0.04, "BR": 0.04, "IN": 0.05, "ES": 0.03, "SE": 0.04,
}  # fmt: skip
COUNTRY_CURRENCY = {"GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR", "ES": "EUR",
                    "CA": "CAD", "AU": "AUD", "JP": "JPY"}  # fmt: skip
COUNTRY_OFFSETS = {
    "US": (4, 5, 6, 7), "GB": (0, 1, 2), "DE": (2, 3), "FR": (2, 3), "CA": (4, 5, 6),
    "AU": (10, 11), "JP": (9,), "NL": (2, 3), "BR": (12,), "IN": (8,), "ES": (2, 3),
    "SE": (2, 3),
}  # fmt: skip
"""Local UTC offsets (codes into common.OFFSETS) a client in each country writes."""
LEGAL_SUFFIX = {"US": "Inc.", "GB": "Ltd", "DE": "GmbH", "FR": "SAS", "NL": "B.V.",
                "JP": "K.K.", "ES": "S.L.", "SE": "AB", "CA": "Inc.", "AU": "Pty Ltd"}  # fmt: skip
MARKUP_COMPANY_NAMES = (
    "<b>Bold</b> & Sons <a href=javascript:void(0)>Co</a>",
    '<img src=x onerror="window.__opsmetricsInjected = true"> Media',
    "<script>window.__opsmetricsInjected = true</script> Labs",
)
"""Names with markup, given to every MARKUP_EVERY-th customer: dashboards and reports
must show them as text (their tests check that none of it runs)."""
MARKUP_EVERY = 25
SEGMENTS = {"smb": 0.68, "mid_market": 0.24, "enterprise": 0.08}
CHANNEL_WEIGHTS = {
    "smb": {"paid_search": 0.30, "paid_social": 0.20, "content": 0.15, "referral": 0.10,
            "partner": 0.05, "outbound_sales": 0.02, "direct": 0.18},
    "mid_market": {"paid_search": 0.22, "paid_social": 0.12, "content": 0.14, "referral": 0.10,
                   "partner": 0.12, "outbound_sales": 0.18, "direct": 0.12},
    "enterprise": {"paid_search": 0.08, "paid_social": 0.04, "content": 0.08, "referral": 0.08,
                   "partner": 0.17, "outbound_sales": 0.45, "direct": 0.10},
}  # fmt: skip
USERS_PER_CUSTOMER = {"smb": (1, 1.5), "mid_market": (3, 5.0), "enterprise": (8, 18.0)}
"""(minimum, extra Poisson mean) users of a converted customer, by segment."""
FIRST_NAMES = ("maria", "james", "sofia", "liam", "yuki", "arjun", "emma", "noah", "lena",
               "lucas", "chloe", "mateo", "aisha", "oliver", "mia", "hiro", "priya", "jonas",
               "ines", "david", "sara", "tom", "ana", "felix")  # fmt: skip
LAST_NAMES = ("garcia", "smith", "muller", "martin", "tanaka", "patel", "brown", "rossi",
              "dubois", "silva", "jones", "kim", "nguyen", "schmidt", "lopez", "wilson",
              "sato", "johansson", "taylor", "meyer")  # fmt: skip
NAME_WORDS = ("Northwind", "Blue", "Acme", "Bright", "Silver", "Quantum", "Green", "Summit",
              "Harbor", "Atlas", "Nova", "Pioneer", "Cedar", "Vertex", "Orbit", "Maple",
              "Iron", "Lumen", "Coral", "Falcon")  # fmt: skip
NAME_NOUNS = ("Analytics", "Logistics", "Foods", "Robotics", "Health", "Labs", "Systems",
              "Retail", "Energy", "Media", "Capital", "Works", "Software", "Networks",
              "Studio", "Dynamics")  # fmt: skip


def channel_names() -> tuple[str, ...]:
    """The acquisition channels of seeds/channels.csv."""
    with (project_dir() / "seeds" / "channels.csv").open() as handle:
        return tuple(row["acquisition_channel"] for row in csv.DictReader(handle))


@dataclass
class Customers:
    """Customer attributes, index i is customer id cus_{i+1:06d}; signed up in time order."""

    signed_up: np.ndarray
    country: np.ndarray
    segment: np.ndarray
    channel: np.ndarray
    satisfaction: np.ndarray
    """Latent satisfaction, N(0, 1): drives conversion, churn and survey scores."""
    offset: np.ndarray
    word: np.ndarray
    noun: np.ndarray

    def __len__(self) -> int:
        return len(self.signed_up)

    def currency_codes(self, currencies: tuple[str, ...]) -> np.ndarray:
        """Index into `currencies` of each customer's billing currency."""
        names = list(COUNTRIES)
        table = np.array([currencies.index(COUNTRY_CURRENCY.get(c, "USD")) for c in names])
        return table[self.country]


def make_customers(ctx: Context) -> Customers:
    """Sign-ups spread over the history, growing about threefold from first to last day."""
    rng = ctx.rng("customers")
    n = ctx.scale.customers
    growth = np.log(3.0)
    share = np.sort(np.log1p(rng.random(n) * np.expm1(growth)) / growth)
    span = ctx.end_us - ctx.start_us - DAY
    signed_up = ctx.start_us + (share * span).astype(np.int64)
    country = pick(rng, COUNTRIES, n)
    segment = pick(rng, SEGMENTS, n)
    channels = channel_names()
    channel = np.empty(n, dtype=np.int64)
    for code, name in enumerate(SEGMENTS):
        weights = {c: CHANNEL_WEIGHTS[name].get(c, 0.05) for c in channels}
        mask = segment == code
        channel[mask] = pick(rng, weights, int(mask.sum()))
    choices = [COUNTRY_OFFSETS[c] for c in COUNTRIES]
    width = max(len(c) for c in choices)
    table = np.array([[c[i % len(c)] for i in range(width)] for c in choices])
    sizes = np.array([len(c) for c in choices])
    offset = table[country, (rng.random(n) * sizes[country]).astype(np.int64)]
    return Customers(
        signed_up=signed_up,
        country=country,
        segment=segment,
        channel=channel,
        satisfaction=rng.standard_normal(n),
        offset=offset,
        word=rng.integers(0, len(NAME_WORDS), n),
        noun=rng.integers(0, len(NAME_NOUNS), n),
    )


def _email_sql(first: str, last: str, word: str, noun: str) -> str:
    domain = f"lower({lookup_sql(NAME_WORDS, word)} || '-' || {lookup_sql(NAME_NOUNS, noun)})"
    return (
        f"{lookup_sql(FIRST_NAMES, first)} || '.' || {lookup_sql(LAST_NAMES, last)}"
        f" || '@' || {domain} || '.example'"
    )


def customers_table(ctx: Context, customers: Customers) -> TableBuild:
    rng = ctx.rng("customers/table")
    n = len(customers)
    fractional = rng.random(n) < 0.3
    ts = floor_to_precision(customers.signed_up, fractional)
    suffix = [LEGAL_SUFFIX.get(c, "Ltd") for c in COUNTRIES]
    build = TableBuild(
        name="customers",
        base={
            "_id": np.arange(1, n + 1),
            "_ts": ts,
            "_loaded": loaded_after(rng, customers.signed_up, ctx.end_us, 10),
            "_off": customers.offset.astype(np.int8),
            "_frac": fractional,
            "_first": rng.integers(0, len(FIRST_NAMES), n),
            "_last": rng.integers(0, len(LAST_NAMES), n),
            "_word": customers.word,
            "_noun": customers.noun,
            "_country": customers.country,
            "_segment": customers.segment,
            "_channel": customers.channel,
        },
        columns={
            "customer_id": "printf('cus_%06d', _id)",
            "email": _email_sql("_first", "_last", "_word", "_noun"),
            "company_name": (
                f"case when _id % {MARKUP_EVERY} = 0 then "
                f"{lookup_sql(MARKUP_COMPANY_NAMES, f'(_id // {MARKUP_EVERY}) % 3')} else "
                f"{lookup_sql(NAME_WORDS, '_word')} || ' ' || {lookup_sql(NAME_NOUNS, '_noun')}"
                f" || ' ' || {lookup_sql(suffix, '_country')} end"
            ),
            "country": lookup_sql(list(COUNTRIES), "_country"),
            "segment": lookup_sql(list(SEGMENTS), "_segment"),
            "acquisition_channel": lookup_sql(channel_names(), "_channel"),
            "signed_up_at": iso_sql("_ts"),
        },
        key=("customer_id",),
        main="signed_up_at",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=()),
        # A correction re-sent with a value no rule accepts: quarantined (invalid_value),
        # while the earlier valid version of the customer stays staged.
        Defect("resent_invalid_row", (("segment", "'giant'"),)),
    ]
    return build


@dataclass
class Users:
    """User attributes, index i is user id usr_{i+1:07d}; grouped by customer."""

    customer: np.ndarray
    created: np.ndarray
    first_of_customer: np.ndarray
    """Index of each customer's first user (the owner, who signed the account up)."""
    count_of_customer: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)


def make_users(
    ctx: Context, customers: Customers, converted: np.ndarray, ended: np.ndarray
) -> Users:
    """Several users per customer (more for enterprise), none before the account exists.

    The owner signs up with the account; colleagues join over the following weeks, and
    only while the account is live (`ended` is when it churned, or the end of history).
    """
    rng = ctx.rng("users")
    n = len(customers)
    minimum = np.array([USERS_PER_CUSTOMER[s][0] for s in SEGMENTS])[customers.segment]
    extra = np.array([USERS_PER_CUSTOMER[s][1] for s in SEGMENTS])[customers.segment]
    count = np.where(converted, minimum + rng.poisson(extra), 1 + rng.poisson(0.5, n))
    customer = np.repeat(np.arange(n), count)
    starts = np.cumsum(count) - count
    is_owner = np.zeros(len(customer), dtype=bool)
    is_owner[starts] = True
    base = customers.signed_up[customer]
    later = np.where(
        converted[customer],
        rng.exponential(40 * DAY, len(customer)),
        rng.uniform(0, 14 * DAY, len(customer)),
    )
    created = base + np.where(is_owner, rng.uniform(5, 300, len(customer)) * 1e6, later).astype(
        np.int64
    )
    keep = is_owner | (created < np.minimum(ended[customer], ctx.end_us))
    customer, created = customer[keep], created[keep]
    count = np.bincount(customer, minlength=n)
    return Users(customer, created, np.cumsum(count) - count, count)


def users_table(ctx: Context, users: Users, customers: Customers) -> TableBuild:
    rng = ctx.rng("users/table")
    n = len(users)
    fractional = rng.random(n) < 0.3
    build = TableBuild(
        name="users",
        base={
            "_id": np.arange(1, n + 1),
            "_customer": users.customer + 1,
            "_ts": floor_to_precision(users.created, fractional),
            "_loaded": loaded_after(rng, users.created, ctx.end_us, 10),
            "_off": customers.offset[users.customer].astype(np.int8),
            "_frac": fractional,
            "_first": rng.integers(0, len(FIRST_NAMES), n),
            "_last": rng.integers(0, len(LAST_NAMES), n),
            "_word": customers.word[users.customer],
            "_noun": customers.noun[users.customer],
        },
        columns={
            "user_id": "printf('usr_%07d', _id)",
            "customer_id": "printf('cus_%06d', _customer)",
            "email": _email_sql("_first", "_last", "_word", "_noun"),
            "created_at": iso_sql("_ts"),
        },
        key=("user_id",),
        main="created_at",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=()),
        Defect("orphan_foreign_key", (("customer_id", "'cus_999999x'"),)),
    ]
    return build


SURVEY_COMMENTS = (
    "Great product, the dashboards save us hours.",
    "Exports are slow for big reports.",
    "Support was quick and helpful.",
    "Too expensive for a team our size.",
    "Please call me back: jane.doe@northwind-labs.example",
    "Contact sam.lee@acme-retail.example about the invoice.",
    "<b>Love</b> the new alerts!",
    "The <i>integration</i> with our CRM keeps failing.",
    "Missing SSO for our team.",
    "Fine.",
)


def surveys_table(
    ctx: Context, customers: Customers, users: Users, live_from: np.ndarray, ended: np.ndarray
) -> TableBuild:
    """NPS every few months and CSAT after support contacts, from paying customers' users.

    Scores follow the customer's latent satisfaction and drop in the months before churn,
    so low scorers churn more.
    """
    rng = ctx.rng("surveys")
    paying = np.flatnonzero(live_from < ctx.end_us)
    until = np.minimum(ended, ctx.end_us)[paying]
    span_days = np.maximum(until - live_from[paying], 0) / DAY
    kinds, times, owners = [], [], []
    for kind, every_days in ((0, 110.0), (1, 75.0)):
        count = rng.poisson(span_days / every_days)
        customer = np.repeat(paying, count)
        start = np.repeat(live_from[paying], count)
        stop = np.repeat(until, count)
        kinds.append(np.full(len(customer), kind))
        times.append(start + (rng.random(len(customer)) * (stop - start)).astype(np.int64))
        owners.append(customer)
    kind, when, customer = (np.concatenate(a) for a in (kinds, times, owners))
    again = np.flatnonzero(rng.random(len(kind)) < 0.04)
    second = when[again] + rng.uniform(30 * MINUTE, 3 * DAY, len(again)).astype(np.int64)
    fits = second < ctx.end_us
    kind = np.concatenate([kind, kind[again][fits]])
    when = np.concatenate([when, second[fits]])
    customer = np.concatenate([customer, customer[again][fits]])
    order = np.argsort(when, kind="stable")
    kind, when, customer = kind[order], when[order], customer[order]
    user = users.first_of_customer[customer] + (
        rng.random(len(customer)) * users.count_of_customer[customer]
    ).astype(np.int64)
    user = np.where(users.created[user] <= when, user, users.first_of_customer[customer])
    n = len(kind)
    near_churn = (ended[customer] - when) < 120 * DAY
    mood = customers.satisfaction[customer] - 1.3 * near_churn + rng.normal(0, 0.7, n)
    score = np.where(
        kind == 0,
        np.clip(np.rint(7.6 + 1.9 * mood), 0, 10),
        np.clip(np.rint(4.0 + 0.7 * mood), 1, 5),
    ).astype(np.int64)
    fractional = rng.random(n) < 0.5
    build = TableBuild(
        name="survey_responses",
        base={
            "_id": np.arange(1, n + 1),
            "_kind": kind,
            "_customer": customer + 1,
            "_user": np.where(rng.random(n) < 0.05, -1, user + 1),
            "_score": score,
            "_comment": np.where(
                rng.random(n) < 0.35, rng.integers(0, len(SURVEY_COMMENTS), n), -1
            ),
            "_ts": floor_to_precision(when, fractional),
            "_loaded": loaded_after(rng, when, ctx.end_us, 45),
            "_off": customers.offset[customer].astype(np.int8),
            "_frac": fractional,
        },
        columns={
            "response_id": "printf('rsp_%07d', _id)",
            "survey_type": "case when _kind = 0 then 'nps' else 'csat' end",
            "customer_id": "printf('cus_%06d', _customer)",
            "user_id": "case when _user > 0 then printf('usr_%07d', _user) end",
            "score": "_score",
            "comment": (
                f"case when _comment >= 0 then {lookup_sql(SURVEY_COMMENTS, '_comment')} end"
            ),
            "submitted_at": iso_sql("_ts"),
        },
        key=("response_id",),
        main="submitted_at",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=("comment", "user_id")),
        Defect(
            "out_of_range_value",
            (("score", "case when _kind = 0 then 11 + _darg % 5 else -1 - _darg % 3 end"),),
        ),
        Defect("orphan_foreign_key", (("customer_id", "'cus_999999x'"),)),
        *fractional_score_defects(),
    ]
    return build


def fractional_score_defects() -> list[Defect]:
    """A score between two whole points (9.5), which staging quarantines as invalid_value.
    Only where the raw contract stores scores as double: an integer column would round it
    away on the way in (the defect could not exist)."""
    types = {c.name: c.data_type for c in raw_tables()["survey_responses"].columns}
    if types["score"] != "double":
        return []
    return [
        Defect(
            "fractional_score",
            (("score", "case when $expr >= 5 then $expr - 0.5 else $expr + 0.5 end"),),
        )
    ]
