"""The dashboards app: a start page and one page per audience at /<audience>
(`opsmetrics dashboards` runs it)."""

from pathlib import Path

import streamlit as st

from opsmetrics.dashboards.audiences import REGISTRY

PAGES = Path(__file__).parent / "audience_pages"


def start() -> None:
    st.title("opsmetrics dashboards")
    st.caption("Every number comes from the semantic layer's exported metric tables.")
    for audience in REGISTRY.values():
        st.page_link(
            pages[audience.name],
            label=f"{audience.title} (refreshes {audience.refresh_label}, owner {audience.owner})",
        )


pages = {
    name: st.Page(PAGES / f"{name}.py", title=audience.title, url_path=name)
    for name, audience in REGISTRY.items()
}
st.set_page_config(page_title="opsmetrics dashboards", layout="wide")
st.navigation([st.Page(start, title="Start", default=True), *pages.values()]).run()
