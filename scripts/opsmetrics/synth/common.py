"""Shared helpers: the generation context, time units, UTC offsets and loader delays.

Times are int64 microseconds since the Unix epoch (UTC) while tables are built; they
become Arrow timestamps only when handed to DuckDB.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from opsmetrics.synth.scales import Scale

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

OFFSETS: tuple[tuple[str, int], ...] = (
    ("Z", 0),
    ("+00:00", 0),
    ("+01:00", 60),
    ("+02:00", 120),
    ("-05:00", -300),
    ("-04:00", -240),
    ("-08:00", -480),
    ("-07:00", -420),
    ("+05:30", 330),
    ("+09:00", 540),
    ("+10:00", 600),
    ("+11:00", 660),
    ("-03:00", -180),
)
"""(suffix, minutes east of UTC) of every offset a timestamp may be written with."""

SERVER_OFFSET_WEIGHTS = np.array([6, 2, 0.5, 0.5, 0.4, 0.2, 0.2, 0, 0.1, 0.1, 0, 0, 0])
"""Servers mostly log in UTC ('Z' or '+00:00'), a few in local time."""


@dataclass(frozen=True)
class Context:
    """What every table builder needs: the scale, the seed and the time window."""

    scale: Scale
    seed: int
    end_date: date
    start_us: int = field(init=False)
    end_us: int = field(init=False)
    """Exclusive end of history: midnight UTC after end_date. Nothing happens after it."""

    def __post_init__(self) -> None:
        end = datetime.combine(self.end_date + timedelta(days=1), datetime.min.time())
        end_us = int(end.replace(tzinfo=UTC).timestamp()) * SECOND
        object.__setattr__(self, "end_us", end_us)
        object.__setattr__(self, "start_us", end_us - self.scale.history_days * DAY)

    @property
    def days(self) -> int:
        return self.scale.history_days

    def rng(self, name: str) -> np.random.Generator:
        """An independent, reproducible random stream per named purpose."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])


def loaded_after(
    rng: np.random.Generator,
    times: np.ndarray,
    end_us: int,
    median_minutes: float = 20.0,
    late_share: float = 0.0,
) -> np.ndarray:
    """When the loader landed rows that happened at `times`.

    Minutes to a couple of hours later; `late_share` of rows arrive 1-3 days late.
    Never before the row's time, never after `end_us`.
    """
    n = len(times)
    delay = rng.lognormal(np.log(median_minutes * MINUTE), 0.8, n)
    np.clip(delay, 30 * SECOND, 150 * MINUTE, out=delay)
    late = rng.random(n) < late_share
    delay[late] = rng.uniform(1 * DAY, 3 * DAY, late.sum())
    # In place: two arrays of the table's length at a time, not five.
    loaded = delay.astype(np.int64)
    del delay, late
    loaded += times
    return np.minimum(loaded, np.maximum(times, end_us), out=loaded)


def server_offsets(rng: np.random.Generator, n: int) -> np.ndarray:
    """Offset codes (indexes into OFFSETS) for server-side timestamps."""
    weights = SERVER_OFFSET_WEIGHTS / SERVER_OFFSET_WEIGHTS.sum()
    return rng.choice(len(OFFSETS), n, p=weights).astype(np.int8)


def floor_to_precision(times: np.ndarray, fractional: np.ndarray) -> np.ndarray:
    """Truncate to milliseconds where written with fractional seconds, else to seconds."""
    unit = np.where(fractional, 1_000, SECOND)
    return times - times % unit


def day_index(times: np.ndarray, start_us: int) -> np.ndarray:
    """Day of history (0 = first day) of each time."""
    return ((times - start_us) // DAY).astype(np.int64)


def pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    """n codes (indexes into the dict's keys) drawn with the given weights."""
    p = np.array(list(weights.values()), dtype=float)
    return rng.choice(len(p), n, p=p / p.sum())


def repeat_ranges(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given sizes: the group of every item and its rank in the group."""
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(group)) - np.repeat(starts, counts)
    return group, rank


def sql_list(values: tuple | list) -> str:
    """A DuckDB list literal of strings or numbers."""
    items = [f"'{v}'" if isinstance(v, str) else repr(v) for v in values]
    return "[" + ", ".join(items) + "]"


def iso_sql(ts: str, offset: str = "_off", fractional: str = "_frac") -> str:
    """SQL writing UTC timestamp `ts` as ISO-8601 text in the offset coded by `offset`."""
    suffixes = sql_list([s for s, _ in OFFSETS])
    minutes = sql_list([m for _, m in OFFSETS])
    return (
        f"strftime({ts} + to_minutes(list_extract({minutes}, {offset} + 1)), "
        f"'%Y-%m-%dT%H:%M:%S')"
        f" || CASE WHEN {fractional} THEN strftime({ts}, '.%g') ELSE '' END"
        f" || list_extract({suffixes}, {offset} + 1)"
    )


def lookup_sql(values: tuple | list, code: str) -> str:
    """SQL mapping a 0-based code column to the value it stands for."""
    return f"list_extract({sql_list(values)}, {code} + 1)"
