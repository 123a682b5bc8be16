"""The Serve & scale page's shared resources: one Ray Serve host per app process, one
application and one torchrun job per session, both ended when the session ends."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import tempfile
import weakref

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core import ddp, serving

SERVED_KEY = "serve_served"  # this page's session value: the running application
JOB_KEY = "serve_ddp_job"  # this page's session value: the torchrun job


@st.cache_resource(show_spinner=False)
def serve_host() -> serving.ServeHost:
    """The process's Ray Serve host; Ray itself starts only when a session deploys."""
    return serving.ServeHost()


def application_name() -> str:
    """This session's application name, e.g. "s-3f2a9c1d" (also its URL path)."""
    context = get_script_run_ctx()
    session = context.session_id if context is not None else "local"
    return "s-" + "".join(char for char in session if char.isalnum())[:8]


@dataclasses.dataclass(eq=False)
class Served:
    """A model this session serves. When the session's state is dropped (the session ended),
    the finalizer removes the application from Ray Serve."""

    name: str
    model_key: str
    replicas: int
    url: str

    def __post_init__(self) -> None:
        self._finalizer = weakref.finalize(self, serve_host().remove, self.name)

    def stop(self) -> None:
        self._finalizer()


def served() -> Served | None:
    return st.session_state.get(SERVED_KEY)


def start_serving(model_key: str, model: serving.ServedModel, *, replicas: int) -> Served:
    """Deploy `model` as this session's application (replacing the one running)."""
    name = application_name()
    url = serve_host().deploy(name, model, replicas=replicas)
    entry = Served(name=name, model_key=model_key, replicas=replicas, url=url)
    old = st.session_state.get(SERVED_KEY)
    if old is not None:
        old._finalizer.detach()  # the same name now serves the new model: keep it
    st.session_state[SERVED_KEY] = entry
    return entry


def stop_serving() -> None:
    entry = st.session_state.pop(SERVED_KEY, None)
    if entry is not None:
        entry.stop()


@dataclasses.dataclass(eq=False)
class DdpRun:
    """A torchrun job in its own temporary folder; the folder and the job end with the
    session (or with `close`)."""

    job: ddp.TorchrunJob
    folder: pathlib.Path
    net: str

    def __post_init__(self) -> None:
        self._finalizer = weakref.finalize(self, _end_run, self.job, self.folder)

    @property
    def checkpoint(self) -> pathlib.Path:
        return self.folder / ddp.CHECKPOINT_FILE

    def close(self) -> None:
        self._finalizer()


def _end_run(job: ddp.TorchrunJob, folder: pathlib.Path) -> None:
    job.stop()
    shutil.rmtree(folder, ignore_errors=True)


def ddp_run() -> DdpRun | None:
    return st.session_state.get(JOB_KEY)


def launch_ddp(script: str, *, net: str, processes: int) -> DdpRun:
    """Write `script` to a fresh folder and start it under torchrun (ends this session's
    previous run)."""
    old = st.session_state.pop(JOB_KEY, None)
    if old is not None:
        old.close()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="torch-playground-ddp-"))
    (folder / ddp.SCRIPT_FILE).write_text(script, encoding="utf-8")
    job = ddp.TorchrunJob(folder, [ddp.SCRIPT_FILE], nproc=processes)
    run = DdpRun(job=job, folder=folder, net=net)
    st.session_state[JOB_KEY] = run
    return run
