import streamlit as st
import torch
import torchvision

from core.device import describe_device
from core.why_pytorch import REASONS
from ui.frame import require_frame
from ui.i18n import t
from ui.navigation import PAGES

require_frame()

st.title(f":material/local_fire_department: {t('app.title')}")
st.markdown(t("home.intro"))

st.subheader(t("home.pages_header"))
columns = st.columns(2)
for index, spec in enumerate(spec for spec in PAGES if spec.key != "home"):
    with columns[index % 2].container(border=True):
        st.page_link(spec.path, label=t(f"{spec.key}.title"), icon=spec.icon)
        st.caption(t(f"{spec.key}.summary"))

st.subheader(t("why.header"))
st.caption(t("why.intro"))
pages = {spec.key: spec for spec in PAGES}
columns = st.columns(3)
for index, reason in enumerate(REASONS):
    with columns[index % 3].container(border=True):
        st.markdown(f"**{t(f'why.{reason.key}')}**")
        st.caption(t(f"why.{reason.key}_text"))
        if reason.limit:
            st.caption(f":material/info: {t(f'why.{reason.key}_limit')}")
        page = reason.page(pages)
        if page is None:
            if reason.pages:  # its page is not in this app (yet)
                st.caption(t("why.not_here"))
        else:
            st.page_link(
                pages[page].path,
                label=t("why.see", page=t(f"{page}.title")),
                icon=pages[page].icon,
                query_params=dict(reason.query.get(page, {})) or None,
            )

st.subheader(t("home.environment_header"))
device = describe_device()
device_text = {
    "cuda": t("home.device_cuda", name=device.name),
    "mps": t("home.device_mps"),
    "cpu": t("home.device_cpu", threads=device.threads),
}[device.kind]
left, middle, right = st.columns(3)
left.metric(t("home.torch_version"), torch.__version__)
middle.metric(t("home.torchvision_version"), torchvision.__version__)
right.metric(t("home.device"), device_text)
st.info(t("home.offline_note"), icon=":material/inventory_2:")
