"""Torch Playground: the router and the frame. Pages live in pages/, one screen each."""

import streamlit as st

from ui import state
from ui.i18n import language_switch, t
from ui.navigation import PAGES

st.set_page_config(
    page_title="Torch Playground", page_icon=":material/local_fire_department:", layout="wide"
)

sections: dict[str, list[st.Page]] = {}
for spec in PAGES:
    page = st.Page(
        spec.path,
        title=t(f"{spec.key}.title"),
        icon=spec.icon,
        url_path=spec.key,
        default=spec.key == "home",
    )
    sections.setdefault(t(f"nav.{spec.section}"), []).append(page)
current = st.navigation(sections)

# Frame widgets go after st.navigation: with a pages/ folder beside this script, Streamlit 1.67
# drops the value of a widget created before it on the next rerun.
language_switch()
st.sidebar.caption(t("app.tagline"))
current.run()
state.write_url()  # once, at the end of the run (pages that stop early call state.stop())
