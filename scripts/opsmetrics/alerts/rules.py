"""Alert rules: the pydantic model of `alerts/rules/*.yml` and its loader.

A rule names a metric of the semantic layer (read from the exported metric tables) or a
mart column (`source`), an optional slice, a grain and a condition of one of six kinds,
and a severity. Every KPI of the registry also gets an implicit threshold rule from its
own meta thresholds (`registry_rules`), unless a file already defines one for it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from opsmetrics.alerts import AlertConfigError, alerts_dir
from opsmetrics.alerts.config import load_yaml, register_union_tags, validate

GRAINS = ("5m", "1h", "1d", "1w", "30d")
"""Evaluation grains: 5-minute and hourly buckets, days, ISO weeks (Monday to Sunday, "1w")
and calendar months ("30d")."""
GRAIN_SECONDS = {"5m": 300, "1h": 3600, "1d": 86400, "1w": 7 * 86400, "30d": 30 * 86400}
SEVERITIES = ("critical", "high", "medium", "info")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
Comparison = Literal[">", ">=", "<", "<="]
Grain = Literal["5m", "1h", "1d", "1w", "30d"]
Severity = Literal["critical", "high", "medium", "info"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(Strict):
    """`value <op> bound`, or the metric's own warning/critical thresholds (`levels:
    registry`: beyond critical → critical, beyond warning → high), for `for_periods`
    consecutive periods."""

    kind: Literal["threshold"]
    op: Comparison | None = None
    value: float | None = None
    levels: Literal["registry"] | None = None
    for_periods: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _one_form(self) -> Threshold:
        if self.levels is None and (self.op is None or self.value is None):
            raise ValueError("give op and value, or levels: registry")
        if self.levels is not None and (self.op is not None or self.value is not None):
            raise ValueError("levels: registry takes no op or value")
        return self


class Change(Strict):
    """Percentage change against the previous period, or the same period a week or a year
    earlier: `percentage_change <op> percent`."""

    kind: Literal["change"]
    compare_to: Literal["previous", "week", "year"] = "previous"
    op: Comparison
    percent: float


class Trend(Strict):
    """A sustained move over the last `periods` periods: each one lower (or higher) than
    the one before (`consecutive`), or an OLS slope beyond `slope_pct` % of the mean per
    period (`slope`)."""

    kind: Literal["trend"]
    direction: Literal["falling", "rising"]
    periods: int = Field(4, ge=2)
    method: Literal["consecutive", "slope"] = "consecutive"
    slope_pct: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _slope_bound(self) -> Trend:
        if (self.method == "slope") != (self.slope_pct is not None):
            raise ValueError("slope_pct is required with method: slope, and only with it")
        return self


class Anomaly(Strict):
    """A robust z-score of the latest value against the same seasonal position (same
    weekday for days, same hour of the week for hours and 5-minute buckets), or of its STL
    residual, beyond `z`; silent until `min_history` comparable values exist.

    `method: binomial` judges counts instead (a mart `source` with a denominator): the
    window's events (e.g. server errors) among its trials (requests) against the rate of
    the previous `history` weeks, by the binomial tail probability, beyond `alpha`."""

    kind: Literal["anomaly"]
    method: Literal["robust_z", "stl", "binomial"] = "robust_z"
    seasonality: Literal["auto", "none", "weekday", "hour_of_week"] = "auto"
    z: float = Field(3.5, gt=0)
    history: int = Field(8, ge=3)
    """Comparable values used: the same position in the last `history` weeks (or the
    last `history` periods without seasonality)."""
    min_history: int = Field(6, ge=3)
    seasonal_fallback: bool = False
    """With fewer than `min_history` values at the same weekday (hour of the week), compare
    with the same kind of day, weekday or weekend (at the same hour) in the same weeks:
    a young series, or one with gaps, is judged from its first weeks on."""
    direction: Literal["both", "up", "down"] = "both"
    min_change_pct: float | None = Field(None, gt=0)
    min_delta: float | None = Field(None, gt=0)
    """Also require the value to differ from the expected one by this % of it, or by
    this much in the metric's unit: small histories give small MADs, and a tiny move is
    no incident however rare."""
    alpha: float | None = Field(None, gt=0, lt=1)
    """method: binomial: fire when the tail probability of the window's count, given the
    baseline rate, is below `alpha` (default 1e-6)."""
    min_trials: int | None = Field(None, ge=1)
    """method: binomial: windows with fewer trials (requests) are not judged (default 1)."""

    @model_validator(mode="after")
    def _binomial_only(self) -> Anomaly:
        counted = self.method == "binomial"
        if not counted and (self.alpha is not None or self.min_trials is not None):
            raise ValueError("alpha and min_trials belong to method: binomial")
        if counted and self.seasonality not in ("auto", "none"):
            raise ValueError("method: binomial compares with a pooled rate: no seasonality")
        return self


class Correlation(Strict):
    """`metric` departs from its usual linear relation to `with_metric`: the residual of
    the latest period, against an OLS fit over the previous `window` periods, has a robust
    z-score beyond `z`."""

    kind: Literal["correlation"]
    with_metric: str
    window: int = Field(28, ge=5)
    z: float = Field(3.5, gt=0)
    min_history: int = Field(14, ge=5)
    direction: Literal["both", "up", "down"] = "both"


class ForecastBreach(Strict):
    """A forecast (forecasts.threshold_crossings, latest run) crosses the metric's
    `threshold_kind` threshold within `within_days` days of the evaluation time."""

    kind: Literal["forecast_breach"]
    threshold_kind: Literal["warning", "critical"] = "critical"
    within_days: int = Field(30, ge=1)


Condition = Annotated[
    Threshold | Change | Trend | Anomaly | Correlation | ForecastBreach,
    Field(discriminator="kind"),
]
CONDITION_KINDS = ("threshold", "change", "trend", "anomaly", "correlation", "forecast_breach")
register_union_tags(*CONDITION_KINDS)


class Source(Strict):
    """A mart column where no metric fits, per `time_column` bucket: `sum(numerator) *
    multiplier ÷ sum(denominator)`, or the `weight`-weighted mean of `numerator` (e.g.
    average latency weighted by requests), or `sum(numerator) * multiplier`."""

    table: str
    time_column: str
    numerator: str
    denominator: str | list[str] | None = None
    """A column, or columns whose sums add up to the denominator."""
    weight: str | None = None
    multiplier: float = 1.0
    min_denominator: int = Field(0, ge=0)
    """Buckets whose denominator (or weight) sums to less are not judged."""
    slice_column: str | None = None

    @model_validator(mode="after")
    def _one_divisor(self) -> Source:
        if self.denominator and self.weight:
            raise ValueError("give a denominator or a weight, not both")
        return self

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        if not TABLE_NAME.match(value):
            raise ValueError(f"table must be schema.table in lower case, got {value!r}")
        return value

    @field_validator("time_column", "numerator", "denominator", "weight", "slice_column")
    @classmethod
    def _column(cls, value: str | list[str] | None) -> str | list[str] | None:
        for name in [value] if isinstance(value, str) else value or []:
            if not IDENTIFIER.match(name):
                raise ValueError(f"not a column name: {name!r}")
        return value

    @property
    def denominator_sql(self) -> str | None:
        """sum(column) [+ sum(other column) …] of the denominator, or of the weight."""
        columns = self.denominator or self.weight
        if columns is None:
            return None
        names = [columns] if isinstance(columns, str) else columns
        return " + ".join(f"sum({name})" for name in names)


class Slice(Strict):
    """A dimension of the metric table (service, acquisition_channel, feature, …) and one
    value of it, or '*' for every value (each evaluated on its own)."""

    name: str
    value: str = "*"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not IDENTIFIER.match(value) or value == "total":
            raise ValueError(f"slice name must be a dimension name, got {value!r}")
        return value


class Rule(Strict):
    id: str
    description: str = ""
    metric: str
    source: Source | None = None
    slice: Slice | None = None
    grain: Grain
    window: int = Field(1, ge=1)
    """Judge the sum (or mean) of the last `window` periods, not the period alone."""
    window_agg: Literal["sum", "mean"] = "sum"
    condition: Condition
    severity: Severity | None = None
    enabled: bool = True
    no_data: bool = True
    """Raise a `no_data` alert when the latest complete period has no value."""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"id must be lower_snake_case, got {value!r}")
        return value

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("metrics")
        if value == "*" or known is None or value in known:
            return value
        raise ValueError(f"unknown metric {value!r} (not in the semantic layer)")

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Rule:
        kind = self.condition.kind
        registry = isinstance(self.condition, Threshold) and self.condition.levels
        if self.severity is None and not registry and kind != "forecast_breach":
            raise ValueError("severity is required (only levels: registry derives it)")
        if self.metric == "*" and kind != "forecast_breach":
            raise ValueError("metric '*' is only allowed for forecast_breach rules")
        weekly = isinstance(self.condition, Change) and self.condition.compare_to == "week"
        if weekly and self.grain == "30d":
            raise ValueError("compare_to: week needs a grain finer than 30d")
        if isinstance(self.condition, Correlation):
            known = (info.context or {}).get("metrics")
            if known is not None and self.condition.with_metric not in known:
                raise ValueError(f"unknown metric {self.condition.with_metric!r} in with_metric")
            if self.source is not None:
                raise ValueError("correlation rules read two metrics, not a mart source")
        if registry and self.source is not None:
            raise ValueError("levels: registry reads the metric's meta: no mart source")
        binomial = isinstance(self.condition, Anomaly) and self.condition.method == "binomial"
        if binomial and (self.source is None or not self.source.denominator):
            raise ValueError("method: binomial needs a mart source with a denominator (counts)")
        return self


class RuleFile(Strict):
    rules: list[Rule]


def rule_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def load_rules(folder: Path | None = None, metrics: set[str] | None = None) -> list[Rule]:
    """Every rule of `folder`/*.yml (default the project's alerts/rules), validated (names
    checked against `metrics` when given). Raises AlertConfigError naming file and line;
    nothing is returned half-way."""
    folder = folder or alerts_dir() / "rules"
    files = rule_files(folder)
    if not files:
        raise AlertConfigError(f"{folder}: no rule files (*.yml)")
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    problems = []
    for path in files:
        document = load_yaml(path)
        try:
            parsed = validate(RuleFile, document, path, context={"metrics": metrics})
        except AlertConfigError as error:
            problems.append(str(error))
            continue
        for index, rule in enumerate(parsed.rules):
            if rule.id in seen:
                line = document["rules"].lc.item(index)[0] + 1
                problems.append(
                    f"{path}:{line}: rule id {rule.id!r} already used in {seen[rule.id]}"
                )
            seen[rule.id] = str(path)
            rules.append(rule)
    if problems:
        raise AlertConfigError("\n".join(problems))
    return rules


def registry_rule(metric: str, grain: str, slice_name: str | None) -> Rule:
    """The implicit threshold rule of a registry KPI, from its own meta thresholds."""
    return Rule(
        id=f"registry_threshold__{metric}",
        description=f"{metric} beyond its registry warning/critical threshold",
        metric=metric,
        slice=Slice(name=slice_name) if slice_name else None,
        grain=grain,
        condition=Threshold(kind="threshold", levels="registry"),
    )


def with_registry_rules(
    rules: list[Rule], kpi_grains: dict[str, tuple[str, str | None]]
) -> list[Any]:
    """`rules` plus a registry threshold rule for every KPI in `kpi_grains` (metric →
    (grain, slice name)) that no rule already checks against its registry levels."""
    covered = {
        rule.metric
        for rule in rules
        if isinstance(rule.condition, Threshold) and rule.condition.levels == "registry"
    }
    extra = [
        registry_rule(metric, grain, slice_name)
        for metric, (grain, slice_name) in sorted(kpi_grains.items())
        if metric not in covered
    ]
    return [*rules, *extra]
