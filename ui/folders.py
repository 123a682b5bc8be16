"""The ImageFolder picker of the Datasets and Train pages: a folder inside the server's roots,
or the learner's own images uploaded as a .zip into this session's temporary folder."""

from __future__ import annotations

import streamlit as st

from core import config, folders
from core.errors import PlaygroundError
from ui import state
from ui.i18n import show_error, t


def roots() -> tuple[str, ...]:
    """The folders this session may open: the configured roots and its own upload folder."""
    return (*(str(root) for root in config.FOLDER_ROOTS), str(state.upload_folder()))


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(tuple(f".{ext}" for ext in config.UPLOAD_EXTENSIONS))


def pick_folder(prefix: str, *, disabled: bool = False) -> str | None:
    """A zip uploader and a folder field (keys `<prefix>_zip`, `<prefix>_folder`).

    Returns:
        The chosen folder, resolved inside `roots()`; None after saying why (nothing chosen
        yet, a refused zip, a path outside the roots).
    """
    upload = st.file_uploader(
        t("folders.zip"),
        type=["zip"],
        key=f"{prefix}_zip",
        help=t("folders.zip_help", images=f"{config.MAX_FOLDER_IMAGES:,}"),
        disabled=disabled,
    )
    if upload is not None:
        extracted = state.uploaded_image_folder(upload.file_id)
        if extracted is None:
            try:
                with st.spinner(t("folders.extracting")):
                    extracted = folders.extract_zip(
                        upload, into=state.upload_folder(), keep=_is_image_name
                    )
            except PlaygroundError as error:
                show_error(error)
                return None
            state.keep_uploaded_image_folder(upload.file_id, extracted)
        return str(extracted)
    typed = st.text_input(
        t("folders.folder"),
        key=f"{prefix}_folder",
        help=t("folders.folder_help", roots=", ".join(map(str, config.FOLDER_ROOTS))),
        disabled=disabled,
    ).strip()
    if not typed:
        st.info(t("folders.info"), icon=":material/folder_zip:")
        return None
    try:
        return str(
            folders.resolve_inside(
                typed, roots=config.FOLDER_ROOTS, unnamed=[state.upload_folder()]
            )
        )
    except PlaygroundError as error:
        show_error(error)
        return None


def warn_unreadable(count: int) -> None:
    """Say how many files of the folder were left out because they could not be read."""
    if count:
        st.warning(t("folders.unreadable", count=f"{count:,}"), icon=":material/broken_image:")
