"""The growth dashboard page (runnable alone: `streamlit run` or AppTest)."""

from opsmetrics.dashboards.page import render

render("growth")
