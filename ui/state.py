"""What a session remembers across pages, in one place.

Pages never touch cross-page `st.session_state` keys directly: they call these functions.
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile

import streamlit as st

from core.trained import TrainedModel

TRAINED_MODELS = "state_trained_models"  # session_state key; tests seed it directly


def trained_models() -> dict[str, TrainedModel]:
    """The models trained in this session, by display name, oldest first."""
    return st.session_state.setdefault(TRAINED_MODELS, {})


def keep_trained_model(model: TrainedModel) -> None:
    """Offer `model` to every page of this session (Classify, Deploy, Serve)."""
    trained_models()[model.name] = model


UPLOADS = "state_uploads"  # session_state key: the session's upload folder and its zips


class _Uploads:
    """The session's temporary folder for uploaded ImageFolder zips and the one extracted last.

    It lives in session state, so the folder is removed when the session is dropped (the
    TemporaryDirectory's finalizer) or when the server exits.
    """

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="torch-playground-session-")
        self.file_id: str | None = None
        self.extracted: pathlib.Path | None = None


def _uploads() -> _Uploads:
    if UPLOADS not in st.session_state:  # not setdefault: that would make a folder every call
        st.session_state[UPLOADS] = _Uploads()
    return st.session_state[UPLOADS]


def upload_folder() -> pathlib.Path:
    """This session's own temporary folder (removed with the session)."""
    return pathlib.Path(_uploads().folder.name)


def uploaded_image_folder(file_id: str) -> pathlib.Path | None:
    """The folder extracted from the upload `file_id` in this session, if it is the last one."""
    uploads = _uploads()
    return uploads.extracted if uploads.file_id == file_id else None


def keep_uploaded_image_folder(file_id: str, folder: pathlib.Path) -> None:
    """Remember `folder` (extracted inside `upload_folder()`) as this session's uploaded
    ImageFolder; the one before it is deleted, so a session keeps one on disk."""
    uploads = _uploads()
    base = upload_folder().resolve()
    previous = uploads.extracted
    if previous is not None and previous.resolve().is_relative_to(base):
        top = base / previous.resolve().relative_to(base).parts[0]  # the zip's own folder
        if not folder.resolve().is_relative_to(top):
            shutil.rmtree(top, ignore_errors=True)
    uploads.file_id, uploads.extracted = file_id, folder
