"""What each audience's page shows: pure configuration, no Streamlit."""

from __future__ import annotations

from dataclasses import dataclass, field

AUDIENCES = ("executive", "product", "growth", "operational")


@dataclass(frozen=True)
class Breakdown:
    """A card's drill-down: the metric by one dimension of another metric table."""

    table: str
    dimensions: tuple[str, ...]


@dataclass(frozen=True)
class Filter:
    """A page filter: a label and the metric-table columns it narrows."""

    label: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Audience:
    """One dashboard page (and report) for one audience."""

    name: str
    owner: str
    refresh_seconds: int
    card_table: str
    """The saved query of the cards: `<audience>_<...>_daily` or `_monthly`, its grain."""
    cards: tuple[str, ...]
    trends: tuple[str, ...]
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)
    gauges: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    status_grid: tuple[str, ...] = ()
    monthly_table: str | None = None
    """A daily page's 13-month trend: the monthly metric table it reads, and which of its
    metrics it draws (the month's own values, never re-aggregated days)."""
    monthly_trends: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.name.capitalize()

    @property
    def grain(self) -> str:
        return "month" if self.card_table.endswith("_monthly") else "day"

    @property
    def time_column(self) -> str:
        return f"metric_time__{self.grain}"

    @property
    def refresh_label(self) -> str:
        seconds = self.refresh_seconds
        if seconds >= 86_400:
            return "daily"
        if seconds >= 3_600:
            return "hourly"
        return "every minute"

    def alert_metrics(self) -> tuple[str, ...]:
        """The metrics whose firing alerts the page and its report list."""
        metrics = [*self.cards, *self.trends, *self.monthly_trends, *self.gauges, *self.status_grid]
        return tuple(dict.fromkeys(metrics))

    def trend_tables(self) -> tuple[str, ...]:
        """The tables of the page's and its report's trend charts and cards."""
        return tuple(t for t in (self.card_table, self.monthly_table) if t is not None)

    def trend_chart_count(self) -> int:
        return len(self.trends) + len(self.monthly_trends)

    def all_tables(self) -> tuple[str, ...]:
        """Every metric table the page reads (for freshness and the dbt exposures)."""
        tables = [*self.trend_tables(), *self.tables]
        tables += [breakdown.table for breakdown in self.breakdowns.values()]
        return tuple(dict.fromkeys(tables))


CHANNEL = Filter(
    "Channel",
    ("customer__acquisition_channel", "acquisition_channel_month__acquisition_channel"),
)
# The per-service status grid of the operational page: these metrics, coloured by their
# thresholds. Queue depth is shown when the semantic layer has a metric for it.
STATUS_GRID_METRICS = ("latency_p95_ms", "error_rate", "uptime_pct", "queue_depth_max")
HOUR = 3_600
DAY = 24 * HOUR
GROWTH_CARDS = (
    "new_users",
    "activation_rate",
    "new_customers",
    "new_mrr",
    "expansion_mrr",
    "churned_mrr",
    "arpa",
    "cac",
)

_AUDIENCES = (
    Audience(
        name="executive",
        owner="finance",
        refresh_seconds=DAY,
        card_table="executive_monthly",
        cards=(
            "mrr",
            "arr",
            "arr_growth_yoy",
            "net_new_mrr",
            "active_customers",
            "logo_churn_rate",
            "net_revenue_retention",
            "revenue",
            "cac",
            "ltv_to_cac",
            "nps",
            "uptime_pct",
        ),
        trends=("mrr", "revenue", "logo_churn_rate"),
        breakdowns={
            metric: Breakdown("executive_segment_monthly", ("customer__segment", "customer__plan"))
            for metric in ("mrr", "active_customers", "logo_churn_rate")
        },
        gauges=("uptime_pct",),
        filters=(Filter("Segment", ("customer__segment",)), Filter("Plan", ("customer__plan",))),
    ),
    Audience(
        name="product",
        owner="product",
        refresh_seconds=HOUR,
        card_table="product_daily",
        cards=("dau", "wau", "mau", "stickiness"),
        trends=("dau", "stickiness"),
        monthly_table="growth_total_monthly",
        monthly_trends=("new_users", "activation_rate"),
        tables=("product_feature_adoption_monthly", "growth_monthly"),
        filters=(Filter("Feature", ("feature_month__feature",)), CHANNEL),
    ),
    Audience(
        name="growth",
        owner="growth",
        refresh_seconds=HOUR,
        card_table="growth_total_monthly",
        cards=GROWTH_CARDS,
        trends=("new_customers", "new_mrr", "cac"),
        breakdowns={
            # CAC is by the channel its spend is booked to, the others by the customer's.
            **{
                metric: Breakdown("growth_monthly", ("customer__acquisition_channel",))
                for metric in GROWTH_CARDS
                if metric != "cac"
            },
            "cac": Breakdown(
                "growth_acquisition_monthly", ("acquisition_channel_month__acquisition_channel",)
            ),
        },
        tables=("growth_monthly", "growth_acquisition_monthly"),
        filters=(CHANNEL,),
    ),
    Audience(
        name="operational",
        owner="platform",
        refresh_seconds=60,
        card_table="operational_total_daily",
        cards=("requests", "error_rate", "latency_p95_ms", "latency_p99_ms", "uptime_pct"),
        trends=("error_rate", "latency_p95_ms", "uptime_pct"),
        monthly_table="operational_total_monthly",
        monthly_trends=("error_rate", "latency_p95_ms", "uptime_pct"),
        breakdowns={
            metric: Breakdown("operational_endpoint_daily", ("service", "api_request__endpoint"))
            for metric in ("requests", "error_rate", "latency_p95_ms")
        },
        gauges=("uptime_pct", "error_budget_remaining_pct"),
        tables=("operational_daily",),
        status_grid=STATUS_GRID_METRICS,
        filters=(
            Filter("Service", ("service",)),
            Filter("Endpoint", ("api_request__endpoint",)),
        ),
    ),
)
REGISTRY: dict[str, Audience] = {audience.name: audience for audience in _AUDIENCES}
