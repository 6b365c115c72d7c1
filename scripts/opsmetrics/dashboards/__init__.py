"""Dashboards per audience (Streamlit) and scheduled KPI reports (HTML/PDF).

Every number comes from the semantic layer's exported metric tables (schema `metrics`, one
per saved query), read from the published read-only snapshot (DuckDB) or the Postgres
warehouse; KPI targets, thresholds and directions from the KPI registry (dbt manifest).
"""
