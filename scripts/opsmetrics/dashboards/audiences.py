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
    title: str
    owner: str
    refresh_seconds: int
    card_table: str
    grain: str
    cards: tuple[str, ...]
    trends: tuple[str, ...]
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)
    gauges: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    status_grid: tuple[str, ...] = ()

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
        return tuple(dict.fromkeys([*self.cards, *self.trends, *self.gauges, *self.status_grid]))

    def all_tables(self) -> tuple[str, ...]:
        """Every metric table the page reads (for freshness and the dbt exposures)."""
        tables = [self.card_table, *self.tables]
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

REGISTRY: dict[str, Audience] = {
    "executive": Audience(
        name="executive",
        title="Executive",
        owner="finance",
        refresh_seconds=DAY,
        card_table="executive_monthly",
        grain="month",
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
    "product": Audience(
        name="product",
        title="Product",
        owner="product",
        refresh_seconds=HOUR,
        card_table="product_daily",
        grain="day",
        cards=("dau", "wau", "mau", "stickiness"),
        trends=("dau", "stickiness"),
        tables=("product_feature_adoption_monthly", "growth_monthly"),
        filters=(Filter("Feature", ("feature_month__feature",)), CHANNEL),
    ),
    "growth": Audience(
        name="growth",
        title="Growth",
        owner="growth",
        refresh_seconds=HOUR,
        card_table="growth_total_monthly",
        grain="month",
        cards=(
            "new_users",
            "activation_rate",
            "new_customers",
            "new_mrr",
            "expansion_mrr",
            "churned_mrr",
            "arpa",
            "cac",
        ),
        trends=("new_customers", "new_mrr", "cac"),
        breakdowns={
            **{
                metric: Breakdown("growth_monthly", ("customer__acquisition_channel",))
                for metric in (
                    "new_users",
                    "activation_rate",
                    "new_customers",
                    "new_mrr",
                    "expansion_mrr",
                    "churned_mrr",
                    "arpa",
                )
            },
            "cac": Breakdown(
                "growth_acquisition_monthly", ("acquisition_channel_month__acquisition_channel",)
            ),
        },
        tables=("growth_monthly", "growth_acquisition_monthly"),
        filters=(CHANNEL,),
    ),
    "operational": Audience(
        name="operational",
        title="Operational",
        owner="platform",
        refresh_seconds=60,
        card_table="operational_total_daily",
        grain="day",
        cards=("requests", "error_rate", "latency_p95_ms", "latency_p99_ms", "uptime_pct"),
        trends=("error_rate", "latency_p95_ms", "uptime_pct"),
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
}
