"""The parameters of each data-set scale, in one table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """How big a generated data set is; every volume knob lives here."""

    name: str
    customers: int
    history_days: int
    events: int
    """Target number of identified-user events (anonymous browsing comes on top)."""
    api_requests: int
    health_check_minutes: int
    metric_minutes: int
    hosts_per_service: tuple[int, ...]
    """Hosts of each service in `platform.SERVICES` order."""


SCALES: dict[str, Scale] = {
    scale.name: scale
    for scale in (
        Scale("tiny", 70, 182, 12_000, 25_000, 90, 360, (1, 1, 1, 1, 1)),
        Scale("small", 1_000, 365, 250_000, 400_000, 15, 60, (2, 1, 1, 2, 1)),
        Scale("medium", 20_000, 730, 5_000_000, 10_000_000, 5, 15, (3, 2, 2, 2, 1)),
        Scale("large", 100_000, 1_095, 25_000_000, 50_000_000, 5, 15, (6, 3, 3, 4, 2)),
    )
}


def get_scale(name: str) -> Scale:
    """The Scale called `name`, or a ValueError listing the valid names."""
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}: choose one of {', '.join(SCALES)}") from None
