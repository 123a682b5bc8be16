import pathlib

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st
from torchvision.datasets import CIFAR10

from core import config, snippets
from core import datasets as core_datasets
from core.errors import PlaygroundError
from ui import datasets as ui_datasets
from ui import folders as ui_folders
from ui import state
from ui.code import show_code
from ui.frame import require_frame
from ui.i18n import error_text, language, show_error, t
from ui.progress import byte_progress

require_frame()

CHANNELS = ("R", "G", "B")
DETAIL_SCALE = 8  # CIFAR-10's 32 px become 256 px, nearest-neighbour
MB = 1 << 20  # sizes in MiB, as torchvision and browsers count "163 MB"


def remember_data_dir() -> None:
    state.set_data_dir(st.session_state["datasets_data_dir"])


def offer_download(root: pathlib.Path) -> None:
    """The Download button with a progress bar fed by the bytes received."""
    size_mb = core_datasets.CIFAR10_ARCHIVE_BYTES / MB
    st.caption(t("datasets.download_help", root=str(root)))
    if not st.button(t("datasets.download", size=f"{size_mb:.0f}"), key="datasets_download"):
        return
    try:
        with byte_progress(
            expected=core_datasets.CIFAR10_ARCHIVE_BYTES,
            text=lambda received, total: t(
                "datasets.downloading", received=f"{received / MB:.1f}", total=f"{total / MB:.1f}"
            ),
        ) as report:
            core_datasets.download_cifar10(
                root, url=core_datasets.CIFAR10_URL, md5=CIFAR10.tgz_md5, progress=report
            )
    except PlaygroundError as error:  # DownloadError for the transfer, DatasetError for the archive
        show_error(error)
        return
    st.rerun()


st.title(t("datasets.title"))
st.caption(t("datasets.summary"))

kind = (
    st.segmented_control(
        t("datasets.source"),
        options=["cifar10", "folder"],
        format_func=lambda option: t(f"datasets.source_{option}"),
        default="cifar10",
        key="datasets_source",
    )
    or "cifar10"
)
if kind == "folder":
    folder = ui_folders.pick_folder("datasets")
    if folder is None:
        state.stop()
    source = ui_datasets.Source("folder", folder, roots=ui_folders.roots())
else:
    left, right = st.columns([3, 2])
    if config.DATA_DIR_FIELD:  # a local single-user app only: it points downloads anywhere
        if "datasets_data_dir" not in st.session_state:
            st.session_state["datasets_data_dir"] = str(state.data_dir())
        left.text_input(
            t("datasets.data_dir"),
            key="datasets_data_dir",
            on_change=remember_data_dir,
            help=t("datasets.data_dir_help", default=str(config.DATA_DIR)),
        )
    root = state.data_dir()
    sizes = ui_datasets.split_sizes(str(root))
    default_split = "train" if sizes["train"] else "test"  # the tutorial loads train=True
    split = (
        right.segmented_control(
            t("datasets.split"),
            options=["train", "test"],
            format_func=lambda option: t(
                f"datasets.split_{option}",
                count="–" if sizes[option] is None else f"{sizes[option]:,}",
            ),
            default=default_split,
            key="datasets_split",
        )
        or default_split
    )
    source = ui_datasets.Source("cifar10", str(root), train=split == "train")

try:
    with st.spinner(t("datasets.loading")):
        data = ui_datasets.browsable(source)
except PlaygroundError as error:  # DatasetError, or a folder refused (core.folders)
    if error.key == "datasets.missing":  # not downloaded yet: expected, not an error
        st.info(error_text(error), icon=":material/download:")
    else:
        show_error(error)
    if source.kind == "cifar10":
        offer_download(pathlib.Path(source.root))
    state.stop()

ui_folders.warn_unreadable(len(getattr(data, "unreadable", ())))
classes = list(data.classes)
counts = core_datasets.class_counts(data.targets, classes=len(classes))
overview, browse = st.tabs([t("datasets.overview"), t("datasets.browse")])

with overview:
    show_code(repr(data.source), file_name="dataset.txt", key="datasets_repr", language="text")
    pixels_array = getattr(data.source, "data", None)  # CIFAR10 has one; ImageFolder does not
    shape = str(pixels_array.shape) if pixels_array is not None else t("datasets.shape_varies")
    metrics = st.columns(3)
    metrics[0].metric("len(dataset)", f"{len(data):,}")
    metrics[1].metric("len(dataset.classes)", len(classes))
    first_targets = data.targets[:10].tolist()
    st.markdown(f"**dataset.data.shape** `{shape}`  \n**dataset.targets[:10]** `{first_targets}`")
    table = pd.DataFrame(
        {
            t("datasets.class"): [ui_datasets.class_label(name) for name in classes],
            "class_to_idx": [data.class_to_idx[name] for name in classes],
            t("datasets.images"): counts,
        }
    )
    left, right = st.columns([2, 3])
    left.dataframe(table, hide_index=True, key="datasets_class_table")
    chart = px.bar(
        table, x=t("datasets.class"), y=t("datasets.images"), title=t("datasets.per_class")
    )
    right.plotly_chart(chart, width="stretch", key="datasets_per_class")
    st.subheader(t("datasets.normalize"))
    with st.spinner(t("datasets.computing_stats")):
        stats = ui_datasets.stats(source)
    st.dataframe(
        pd.DataFrame(
            {t("datasets_extra.mean"): stats.mean, t("datasets_extra.std"): stats.std},
            index=list(CHANNELS),
        ).T,
        key="datasets_stats",
    )
    st.caption(t("datasets.normalize_help", images=f"{stats.images:,}"))
    show_code(
        snippets.overview_code(source.kind, source.root, train=source.train, language=language()),
        file_name="dataset_overview.py",
        key="datasets_code_overview",
    )


def open_sample(index: int) -> None:
    """A click on a grid tile shows that sample up close."""
    st.session_state["datasets_index"] = index


with browse:
    chosen = st.multiselect(
        t("datasets.filter"),
        options=list(range(len(classes))),
        format_func=lambda target: (
            f"{ui_datasets.class_label(classes[target])} ({counts[target]:,})"
        ),
        key="datasets_classes",
        placeholder=t("datasets.filter_all"),
    )
    indices = core_datasets.select(data.targets, classes=chosen)
    size_column, order_column, position_column = st.columns(3)
    page_size = size_column.select_slider(
        t("datasets.page_size"),
        options=[25, 50, 75, 100, 125, 150, 175, 200],
        value=100,
        key="datasets_page_size",
    )
    st.session_state.setdefault("datasets_order", "pages")  # set by jump_to_sample too
    order = (
        order_column.segmented_control(
            t("datasets.order"),
            options=["pages", "random"],
            format_func=lambda option: t(f"datasets.order_{option}"),
            key="datasets_order",
        )
        or "pages"
    )
    pages = core_datasets.page_count(len(indices), page_size=page_size)
    if order == "random":
        seed = position_column.number_input(
            t("datasets.seed"), min_value=0, max_value=2**31 - 1, value=0, key="datasets_seed"
        )
        shown = core_datasets.sample(indices, count=page_size, seed=int(seed))
        page = 0
    else:
        seed = None
        st.session_state["datasets_page"] = min(st.session_state.get("datasets_page", 1), pages)
        page = (
            position_column.number_input(
                t("datasets.page", pages=pages), min_value=1, max_value=pages, key="datasets_page"
            )
            - 1
        )
        shown = core_datasets.page_of(indices, page=page, page_size=page_size)
    st.caption(t("datasets.showing", shown=len(shown), total=f"{len(indices):,}"))
    if len(shown):
        labels = ui_datasets.labels_of(data, shown)
        ui_datasets.clickable_grid(
            ui_datasets.grid_html(source, tuple(int(i) for i in shown), labels),
            on_click=open_sample,
        )
    show_code(
        snippets.browse_code(
            source.kind,
            source.root,
            train=source.train,
            classes=[int(target) for target in chosen],
            names=[classes[target] for target in chosen],
            page=page,
            page_size=page_size,
            seed=None if seed is None else int(seed),
            language=language(),
        ),
        file_name="dataset_browse.py",
        key="datasets_code_browse",
    )

    st.subheader(t("datasets.detail"))

    def jump_to_sample() -> None:
        """Show the page of the grid that holds the chosen sample, when the filter keeps it."""
        target_page = core_datasets.page_containing(
            indices, st.session_state["datasets_index"], page_size=page_size
        )
        if target_page is not None:
            st.session_state["datasets_order"] = "pages"
            st.session_state["datasets_page"] = target_page + 1

    st.session_state["datasets_index"] = min(
        st.session_state.get("datasets_index", 0), len(data) - 1
    )
    index = int(
        st.number_input(
            t("datasets.index", last=len(data) - 1),
            min_value=0,
            max_value=len(data) - 1,
            key="datasets_index",
            on_change=jump_to_sample,
        )
    )
    try:
        image = data.image(index)
    except PlaygroundError as error:
        show_error(error)
        state.stop()
    target = int(data.targets[index])
    pixels = np.asarray(image)
    scale = max(1, DETAIL_SCALE * 32 // max(image.size))
    left, right = st.columns([1, 2])
    shown_label = ui_datasets.class_label(classes[target])
    left.image(core_datasets.upscale(pixels, factor=scale), caption=f"#{index} · {shown_label}")
    with right:
        facts = st.columns([1, 2, 2])  # room for "automobile（汽车）"
        facts[0].metric(t("datasets.index_label"), index)
        facts[1].metric(t("datasets.label"), shown_label)
        facts[2].metric(f"class_to_idx[{classes[target]!r}]", data.class_to_idx[classes[target]])
        values = pixels.reshape(-1, 3) / 255.0
        st.dataframe(
            pd.DataFrame(
                {
                    t("datasets_extra.min"): values.min(axis=0),
                    t("datasets_extra.max"): values.max(axis=0),
                    t("datasets_extra.mean"): values.mean(axis=0),
                    t("datasets_extra.std"): values.std(axis=0),
                },
                index=list(CHANNELS),
            ).round(4),
            key="datasets_detail_stats",
        )
    for column, name, channel in zip(st.columns(3), CHANNELS, range(3), strict=True):
        column.image(
            core_datasets.upscale(pixels[..., channel], factor=max(1, scale // 2)),
            caption=t("datasets.channel", name=name),
        )

    caption = f"{source.name} #{index} ({classes[target]})"
    actions = st.columns(2)
    if actions[0].button(t("datasets.classify"), key="datasets_classify", icon=":material/search:"):
        state.send("classify", state.HandedImage(image, caption))
    if actions[1].button(t("datasets.transform"), key="datasets_transform", icon=":material/tune:"):
        state.send("transforms", state.HandedImage(image, caption))
    show_code(
        snippets.detail_code(
            source.kind, source.root, train=source.train, index=index, language=language()
        ),
        file_name="dataset_sample.py",
        key="datasets_code_detail",
    )
