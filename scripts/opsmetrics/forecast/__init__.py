"""Predictive metrics: KPI forecasts with intervals, capacity threshold crossings and
customer churn risk, written to the warehouse's `forecasts` schema.

Modules: `series` (what is forecast, read how), `models` (statsmodels ETS, damped-trend
ETS and the seasonal-naive baseline, accuracy measures), `run` (the `opsmetrics forecast` command),
`backtest` (rolling-origin accuracy, `opsmetrics bench forecast`), `churn` (the monthly
churn-risk score and its time-split backtest), `warehouse` (DuckDB and Postgres I/O).
"""
