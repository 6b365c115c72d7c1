"""The dashboards app: one page per audience (`opsmetrics dashboards` runs it)."""

from pathlib import Path

import streamlit as st

from opsmetrics.dashboards.audiences import REGISTRY

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="opsmetrics dashboards", layout="wide")
navigation = st.navigation(
    [
        st.Page(PAGES / f"{name}.py", title=audience.title, url_path=name, default=index == 0)
        for index, (name, audience) in enumerate(REGISTRY.items())
    ]
)
navigation.run()
