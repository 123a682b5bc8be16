"""The Deploy page's background work: one job per model exports every format into the session's
temporary folder and checks each file with its own runtime, while the page polls its status."""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
import threading
import uuid

import streamlit as st
import torch
from PIL import Image

from core import deploy, samples
from core.datasets import DatasetError
from ui.training import cifar_images

FOLDER_KEY = "deploy_folder"  # this page's TemporaryDirectory, one per session
JOBS_KEY = "deploy_jobs"  # this page's jobs, by model title
POLL_SECONDS = 1.0
CIFAR_CHECKED = 60  # CIFAR-10 test images added to the sample photos when they are downloaded


def session_folder() -> pathlib.Path:
    """This session's temporary folder. The TemporaryDirectory object lives in session state:
    when the session ends and its state is dropped, its finalizer removes the folder (and at
    interpreter exit at the latest)."""
    folder = st.session_state.get(FOLDER_KEY)
    if folder is None:
        folder = st.session_state[FOLDER_KEY] = tempfile.TemporaryDirectory(prefix="deploy-")
    return pathlib.Path(folder.name)


@dataclasses.dataclass(frozen=True)
class CheckImages:
    """The real images every format is checked on, preprocessed for one model."""

    inputs: torch.Tensor  # (N, 3, S, S) float32
    photos: int  # bundled sample photos among them
    cifar: int  # CIFAR-10 test images among them


def check_images(subject: deploy.Subject, data_dir: str) -> CheckImages:
    """The sample photos, plus the first CIFAR-10 test images when the dataset is downloaded."""
    images: list[Image.Image] = [samples.load_sample(name) for name in samples.SAMPLES]
    photos = len(images)
    try:
        test = cifar_images(data_dir, False)
    except DatasetError:
        test = None
    if test is not None:
        images += [Image.fromarray(x.permute(1, 2, 0).numpy()) for x in test.images[:CIFAR_CHECKED]]
    inputs = deploy.preprocess(images, preprocessing=subject.preprocessing)
    return CheckImages(inputs=inputs, photos=photos, cifar=len(images) - photos)


@dataclasses.dataclass
class Row:
    """One format's outcome so far: the file, its check, or the error that stopped either."""

    exported: deploy.Exported | None = None
    check: deploy.Check | None = None
    error: deploy.ExportError | None = None


class DeployJob:
    """Exports and checks `formats` of `subject` one after another in a thread."""

    def __init__(
        self,
        subject: deploy.Subject,
        *,
        formats: tuple[str, ...],
        images: CheckImages,
        folder: pathlib.Path,
        language: str,
    ) -> None:
        self.id = uuid.uuid4().hex[:8]
        self.subject = subject
        self.formats = formats
        self.images = images
        self.folder = folder / f"{subject.slug}-{self.id}"
        self.language = language
        self.baseline: deploy.Check | None = None
        self.rows: dict[str, Row] = {}
        self.current: str | None = None  # the format being exported or checked
        self.failure: BaseException | None = None  # an unexpected error: re-raised by the page
        self._thread = threading.Thread(target=self._work, daemon=True, name=f"deploy-{self.id}")

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    def _work(self) -> None:
        try:
            self.baseline, expected = deploy.eager_check(self.subject, self.images.inputs)
            for format in self.formats:
                self.current = format
                row = self.rows[format] = Row()
                try:
                    row.exported = deploy.export(
                        format, self.subject, folder=self.folder, language=self.language
                    )
                    row.check = deploy.check(
                        row.exported, self.subject, self.images.inputs, expected
                    )
                except deploy.ExportError as error:
                    row.error = error  # this format only: the next one still runs
            self.current = None
        except BaseException as error:  # noqa: BLE001 - re-raised by the page, never lost
            self.failure = error


def jobs() -> dict[str, DeployJob]:
    """This session's deploy jobs, by model title."""
    return st.session_state.setdefault(JOBS_KEY, {})
