"""What a page remembers, in one place: values kept in the URL, hand-offs between pages, and
values that live for the session across pages.

Pages never touch `st.query_params` or another page's `st.session_state` keys: they call these
functions (tests/test_project.py checks it).

- URL values. A page declares each one once (`UrlInt("t_p", "tensors_power", 2, low=1,
  high=5)`: parameter, widget key, default, bounds) and calls `bind(value)` before drawing the
  widget. The link is read once per session; a value out of bounds is clamped and a value that
  cannot be read is ignored, each with a message, so nothing out of range reaches a widget. The
  router writes the URL once at the end of the run; pages end a run early with `stop()`, which
  writes it first.
- Hand-offs: `send("classify", item)` leaves `item` for the page keyed "classify" in
  `ui.navigation.PAGES` and opens it; that page calls `take("classify")` once.
- Session values: `trained_models()` / `keep_trained_model()`, `data_dir()` / `set_data_dir()`.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import shutil
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

import streamlit as st
from PIL import Image

from core import config
from ui.navigation import PAGES

if TYPE_CHECKING:  # the frame imports this module: torch loads with the first page that needs it
    from core.trained import TrainedModel
    from core.training import TrainConfig

T = TypeVar("T")

TRAINED_MODELS = "state_trained_models"  # session_state key; tests seed it directly
DATA_DIR = "data_dir"  # session override of config.DATA_DIR; tests seed it directly
HANDOFF_PREFIX = "handoff_"  # + page key; tests seed a hand-off directly
_URL_READ = "state_url_read"  # parameters already read from the link this session
_URL_VALUES = "state_url_values"  # {parameter: UrlValue} declared by this run's widgets
_URL_KEPT = "state_url_kept"  # {parameter: text} kept by the page this run, without a widget
_ALWAYS_VALUES = "state_always_values"  # {widget key: value} of `always` values, kept aside


# ---------------------------------------------------------------------------------------------
# Values kept in the URL.


class UrlRefused(ValueError):
    """A link value that cannot be used; `str()` is the allowed range or choices."""


@dataclasses.dataclass(frozen=True)
class UrlValue(Generic[T]):
    """One query parameter bound to one widget key: how to read it, check it and write it.

    Subclasses set the bounds; `check` returns the value to use (clamped) or raises UrlRefused.
    """

    name: str  # query parameter, e.g. "t_w"
    key: str  # the widget's session_state key, e.g. "tensors_weight"
    default: T
    always: bool = False  # keep it in the link even when it equals the default

    def parse(self, text: str) -> T:
        return text  # type: ignore[return-value]

    def format(self, value: T) -> str:
        return str(value)

    def check(self, value: T) -> T:
        return value


@dataclasses.dataclass(frozen=True)
class UrlText(UrlValue[str]):
    max_length: int = config.MAX_URL_TEXT

    def check(self, value: str) -> str:
        if len(value) > self.max_length:
            raise UrlRefused(f"≤ {self.max_length} characters")
        return value


@dataclasses.dataclass(frozen=True)
class UrlInt(UrlValue[int]):
    low: int = -(2**31)
    high: int = 2**31 - 1

    def parse(self, text: str) -> int:
        return int(text)

    def check(self, value: int) -> int:
        return min(max(value, self.low), self.high)


@dataclasses.dataclass(frozen=True)
class UrlFloat(UrlValue[float]):
    low: float = -1e6
    high: float = 1e6

    def parse(self, text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise UrlRefused(f"{self.low} … {self.high}")
        return value

    def check(self, value: float) -> float:
        return min(max(value, self.low), self.high)


@dataclasses.dataclass(frozen=True)
class UrlBool(UrlValue[bool]):
    def parse(self, text: str) -> bool:
        if text not in ("0", "1", "true", "false", "True", "False"):
            raise UrlRefused("0, 1")
        return text in ("1", "true", "True")

    def format(self, value: bool) -> str:
        return str(int(value))


@dataclasses.dataclass(frozen=True)
class UrlChoice(UrlValue[Any]):
    """One of `options`; `read` turns the link's text into an option (str by default)."""

    options: tuple[Any, ...] = ()
    read: Callable[[str], Any] = str

    def parse(self, text: str) -> Any:
        return self.read(text)

    def check(self, value: Any) -> Any:
        if value not in self.options:
            raise UrlRefused(", ".join(map(str, self.options[:12])))
        return value


def read_url(value: UrlValue[T]) -> T | None:
    """The link's value for `value.name`, checked: read once per session (later runs get None,
    as do links without it). Clamps and refusals are reported in the UI language."""
    done: set[str] = st.session_state.setdefault(_URL_READ, set())
    if value.name in done:
        return None
    done.add(value.name)
    text = st.query_params.get(value.name)
    if text is None:
        return None
    try:
        parsed = value.parse(text)
        checked = value.check(parsed)
    except (ValueError, TypeError, OverflowError) as refused:
        _report("state.url_refused", name=value.name, text=text[:40], allowed=_allowed(refused))
        return None
    if checked != parsed:
        _report("state.url_clamped", name=value.name, text=text[:40], used=checked)
    return checked


def bind(value: UrlValue[T]) -> T:
    """Declare a widget's URL value for this run, before the widget is drawn: on first sight
    the widget takes the link's value (else the default); the end of the run writes the
    widget's value back. Returns the value the widget will show."""
    if value.key not in st.session_state:
        kept = st.session_state.get(_ALWAYS_VALUES, {})
        if value.always and value.key in kept:
            # st.switch_page (a hand-off) drops the widget's state with the page it leaves,
            # and the link was read long ago: the session's own choice comes back.
            st.session_state[value.key] = kept[value.key]
        else:
            from_link = read_url(value)
            st.session_state[value.key] = value.default if from_link is None else from_link
    _declared()[value.name] = value
    return st.session_state[value.key]


def _keep_always_values() -> None:
    """Copy this run's `always` widget values where a page switch cannot drop them."""
    kept: dict[str, Any] = st.session_state.setdefault(_ALWAYS_VALUES, {})
    for value in _declared().values():
        if value.always and value.key in st.session_state:
            kept[value.key] = st.session_state[value.key]


def keep(value: UrlValue[T], current: T) -> None:
    """Put a value that has no widget (a pipeline, say) in this run's URL."""
    kept: dict[str, str | None] = st.session_state.setdefault(_URL_KEPT, {})
    keeps = current != value.default or value.always
    kept[value.name] = value.format(current) if keeps else None


def write_url() -> None:
    """Write this run's URL values into the link, once, changing only what changed: declared
    values (dropped at their default), kept values, and nothing else that was read before.
    Parameters of the link not read yet stay for the widget that will read them."""
    _keep_always_values()
    declared: dict[str, UrlValue[Any]] = st.session_state.pop(_URL_VALUES, {})
    wanted: dict[str, str | None] = st.session_state.pop(_URL_KEPT, {})
    for name, value in declared.items():
        current = st.session_state.get(value.key)
        keeps = current is not None and (current != value.default or value.always)
        wanted[name] = value.format(current) if keeps else None
    read: set[str] = st.session_state.get(_URL_READ, set())
    for name in list(st.query_params):
        if name not in wanted and name in read:
            del st.query_params[name]  # a value of a widget no longer on screen
    for name, text in wanted.items():
        if text is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != text:
            st.query_params[name] = text


def stop() -> NoReturn:
    """End this run now, keeping the URL: `st.stop()` after `write_url()`."""
    write_url()
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises; this satisfies NoReturn


def _declared() -> dict[str, UrlValue[Any]]:
    return st.session_state.setdefault(_URL_VALUES, {})


def _allowed(refused: Exception) -> str:
    return str(refused) if isinstance(refused, UrlRefused) else "?"


def _report(key: str, **params: Any) -> None:
    from ui.i18n import t  # i18n reads the language through this module

    st.toast(t(key, **params), icon=":material/link_off:")


# ---------------------------------------------------------------------------------------------
# Hand-offs between pages.


@dataclasses.dataclass(frozen=True)
class HandedImage:
    image: Image.Image  # RGB
    caption: str  # where it came from, e.g. "CIFAR-10 test #3 (cat)"


@dataclasses.dataclass(frozen=True)
class HandedPipeline:
    compose: Any  # a torchvision.transforms.v2.Compose, ready to apply
    description: str  # the pipeline as JSON, for display


@dataclasses.dataclass(frozen=True)
class HandedSettings:
    """The Train page's current settings, for the Serve page's "Scale this run" (torchrun)."""

    net: str
    settings: TrainConfig
    source: str  # "cifar10" or "folder"
    folder: str | None  # the image folder when source == "folder"
    subset: int  # training images drawn


def page_path(page: str) -> str:
    """The script of the page keyed `page` in `ui.navigation.PAGES` (KeyError when unknown)."""
    for spec in PAGES:
        if spec.key == page:
            return spec.path
    raise KeyError(page)


def send(page: str, item: Any) -> NoReturn:
    """Leave `item` for the page keyed `page` and open that page (this ends the run)."""
    path = page_path(page)
    st.session_state[HANDOFF_PREFIX + page] = item
    _keep_always_values()  # the language, above all: the next page opens in it
    st.switch_page(path)
    raise AssertionError("unreachable")  # st.switch_page raises


def take(page: str) -> Any | None:
    """What was handed to page `page`, once; None when nothing was."""
    page_path(page)  # a typo is a bug: KeyError
    return st.session_state.pop(HANDOFF_PREFIX + page, None)


# ---------------------------------------------------------------------------------------------
# Values that live for the session, across pages.


def trained_models() -> dict[str, TrainedModel]:
    """The models trained in this session, by display name, oldest first."""
    return st.session_state.setdefault(TRAINED_MODELS, {})


def keep_trained_model(model: TrainedModel) -> None:
    """Offer `model` to every page of this session (Classify, Deploy, Serve)."""
    trained_models()[model.name] = model


def data_dir() -> pathlib.Path:
    """The data directory of this session: its override, else `config.DATA_DIR`."""
    return pathlib.Path(st.session_state.get(DATA_DIR) or config.DATA_DIR)


def set_data_dir(folder: str) -> None:
    """Use `folder` as this session's data directory (empty: back to the default)."""
    st.session_state[DATA_DIR] = folder.strip()


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
