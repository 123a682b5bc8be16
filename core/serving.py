"""Serve a classifier over HTTP with Ray Serve, and the files and code to call or ship it.

One `ServeHost` per process starts Ray on request (never at import), on loopback, with a small
object store and no dashboard, and runs one Ray Serve application per caller (the app names
them by session). Every application is the same deployment, `ImageClassifier`: the bytes of an
image in, the same preprocessing and top-5 as the Classify page (`core.models`), JSON out.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import torch
from torch import nn

from core import config, processes
from core.errors import ImageDecodeError, PlaygroundError
from core.models import Classifier, ModelRecord, classify_bytes

ROUTE_PREFIX = "/"  # an application's route is "/<name>"


class ServingError(PlaygroundError, RuntimeError):
    """Ray or Ray Serve could not do what was asked; the message says what to try."""

    key = "serve.failed"


class PortTakenError(ServingError):
    key = "serve.port_taken"


class RayStartError(ServingError):
    key = "serve.ray_failed"


class DeploymentLimitError(ServingError):
    key = "serve.limit"


class ReplicaError(ServingError):
    key = "serve.replica_failed"


@dataclasses.dataclass(frozen=True)
class ServedModel:
    """What a replica needs to classify: the registry record (preprocessing, categories) and the
    network. Ray pickles it into every replica, so each holds its own copy."""

    record: ModelRecord
    module: nn.Module


def served_model(classifier: Classifier) -> ServedModel:
    """The part of a loaded `Classifier` a replica needs (the module moved to the CPU)."""
    return ServedModel(record=classifier.record, module=classifier.module.cpu())


def prediction_json(model: Classifier, data: bytes) -> dict[str, Any]:
    """Image bytes to the response body every server of this app returns.

    Raises:
        ImageDecodeError: `data` is not an image the app accepts.
    """
    classification = classify_bytes(data, model=model)
    return {
        "model": model.record.title,
        "predictions": [
            {"label": item.label, "index": item.index, "probability": round(item.probability, 6)}
            for item in classification.predictions
        ],
        "seconds": round(classification.seconds, 4),
    }


def _deployment_class():
    # Imported here: `import ray` costs seconds and memory, and only serving needs it.
    from ray import serve
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    @serve.deployment(name="ImageClassifier")
    class ImageClassifier:
        """POST image bytes -> {"model", "predictions": top-5 [{label, index, probability}]}."""

        def __init__(self, served: ServedModel) -> None:
            torch.set_num_threads(1)  # replicas share a few cores; one thread each
            self.model = Classifier(
                record=served.record, module=served.module.eval(), device=torch.device("cpu")
            )

        async def __call__(self, request: Request) -> JSONResponse:
            data = await request.body()
            try:
                body = await asyncio.to_thread(prediction_json, self.model, data)
            except ImageDecodeError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            return JSONResponse(body)

    return ImageClassifier


def is_port_free(port: int, *, host: str = config.SERVE_HOST) -> bool:
    """Whether nothing listens on `host:port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(*, host: str = config.SERVE_HOST) -> int:
    """A TCP port the system reports free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class ServeHost:
    """One Ray instance and its Ray Serve proxy, shared by every caller in this process.

    Thread-safe: Streamlit sessions call it from their own threads.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = config.SERVE_HOST,
        num_cpus: int = config.RAY_NUM_CPUS,
        object_store_bytes: int = config.RAY_OBJECT_STORE_BYTES,
        max_deployments: int = config.MAX_LIVE_DEPLOYMENTS,
        replica_cpus: float = config.REPLICA_CPUS,
    ) -> None:
        self.port = config.SERVE_PORT if port is None else port  # read now: tests move it
        self.host = host
        self.num_cpus, self.object_store_bytes = num_cpus, object_store_bytes
        self.max_deployments, self.replica_cpus = max_deployments, replica_cpus
        self._lock = threading.RLock()
        self._started = False
        self._release = threading.Event()
        self._owner: threading.Thread | None = None
        self._names: set[str] = set()

    @property
    def started(self) -> bool:
        return self._started

    def url(self, name: str) -> str:
        """The address application `name` answers on."""
        return f"http://{self.host}:{self.port}{ROUTE_PREFIX}{name}"

    def start(self) -> None:
        """Start Ray and the Serve proxy (once; later calls return at once).

        Raises:
            PortTakenError: another program listens on the port.
            RayStartError: Ray or Serve failed to start.
        """
        with self._lock:
            if self._started:
                return
            if not is_port_free(self.port, host=self.host):
                raise PortTakenError(
                    f"Port {self.port} on {self.host} is taken by another program. Stop it, or "
                    "set SERVE_PORT in core/config.py to a free port.",
                    port=self.port,
                )
            # Ray's processes die with the *thread* that started them (PR_SET_PDEATHSIG), and a
            # Streamlit script thread ends after every run: start Ray from a thread that lives
            # until shutdown.
            ready: list[BaseException | None] = []
            started = threading.Event()
            self._release = threading.Event()
            self._owner = threading.Thread(
                target=self._own_ray, args=(ready, started), name="ray-owner", daemon=True
            )
            self._owner.start()
            started.wait()
            if ready[0] is not None:
                error = ready[0]
                raise RayStartError(
                    f"Ray did not start: {error}. Close other Ray programs and try again.",
                    reason=str(error)[:300],
                ) from error
            self._started = True

    def _own_ray(self, ready: list[BaseException | None], started: threading.Event) -> None:
        import ray
        from ray import serve

        error: BaseException | None = None
        # Ray gives its raylet a fixed 30 s to register; on a loaded machine a second try helps.
        for _attempt in range(config.RAY_START_ATTEMPTS):
            try:
                ray.init(
                    address="local",
                    num_cpus=self.num_cpus,
                    object_store_memory=self.object_store_bytes,
                    include_dashboard=False,
                    configure_logging=False,
                    log_to_driver=False,
                    # Replicas import this project's `core` to rebuild the model.
                    runtime_env={"env_vars": {"PYTHONPATH": str(config.PROJECT_ROOT)}},
                )
                serve.start(http_options={"host": self.host, "port": self.port})
            except Exception as failure:  # noqa: BLE001 - Ray raises many kinds; all mean "failed"
                error = failure
                with contextlib.suppress(Exception):
                    ray.shutdown()
            else:
                error = None
                break
        if error is not None:
            ready.append(error)
            started.set()
            return
        ready.append(None)
        started.set()
        self._release.wait()  # keep this thread, and so Ray's processes, alive

    def deploy(self, name: str, served: ServedModel, *, replicas: int = 1) -> str:
        """Run `served` as application `name` with `replicas` copies; wait until it answers.

        Replaces an application of the same name. Returns its URL.

        Raises:
            DeploymentLimitError: `max_deployments` other applications are running.
            ReplicaError: a replica failed to start (its error is in the message).
        """
        if not 1 <= replicas <= config.MAX_REPLICAS:
            raise ValueError(f"replicas must be 1..{config.MAX_REPLICAS}, got {replicas}")
        with self._lock:
            if name not in self._names and len(self._names) >= self.max_deployments:
                raise DeploymentLimitError(
                    f"{len(self._names)} models are served already, the limit of this app. "
                    "Stop one (or wait for another learner to stop theirs) and try again.",
                    limit=self.max_deployments,
                )
            self.start()
            self._names.add(name)
        from ray import serve

        application = (
            _deployment_class()
            .options(
                num_replicas=replicas,
                ray_actor_options={"num_cpus": self.replica_cpus},
                max_ongoing_requests=8,
            )
            .bind(served)
        )
        try:
            serve.run(application, name=name, route_prefix=f"{ROUTE_PREFIX}{name}")
        except Exception as error:  # a failed replica surfaces as any Ray error
            self.remove(name)
            raise ReplicaError(
                f"The model server did not start: {error}", reason=str(error)[:300]
            ) from error
        return self.url(name)

    def status(self, name: str) -> str | None:
        """Ray Serve's status of application `name` ("RUNNING", "DEPLOYING", "UNHEALTHY", ...),
        None when it is not running."""
        if not self._started or name not in self._names:
            return None
        from ray import serve

        application = serve.status().applications.get(name)
        if application is None:
            return None
        return str(getattr(application.status, "value", application.status))

    def names(self) -> set[str]:
        """The applications running now."""
        with self._lock:
            return set(self._names)

    def remove(self, name: str) -> None:
        """Stop application `name` and free its replicas (nothing happens if it is not running)."""
        with self._lock:
            if name not in self._names:
                return
            self._names.discard(name)
        from ray import serve

        with contextlib.suppress(Exception):  # already gone: nothing to stop
            serve.delete(name)

    def shutdown(self) -> None:
        """Stop every application, Serve and Ray; the host can start again later."""
        with self._lock:
            if not self._started:
                return
            import ray
            from ray import serve

            # Ray's own processes below this one (GCS, raylet, workers), not a training run's.
            started_by_ray = tuple(
                pid
                for pid in processes.descendants(os.getpid())
                if "ray" in processes.command_line(pid).lower()
            )
            with contextlib.suppress(Exception):
                serve.shutdown()
            ray.shutdown()
            self._release.set()
            self._owner.join(10)
            # ray.shutdown() asks them to stop; on a busy machine some linger: wait, then kill.
            processes.end(started_by_ray, grace_s=config.RAY_STOP_GRACE_S)
            self._names.clear()
            self._started = False


@dataclasses.dataclass(frozen=True)
class CallResult:
    """One HTTP request to a served model: the status, the JSON body and the round trip."""

    status: int
    body: dict[str, Any]
    seconds: float


def post_image(
    url: str, data: bytes, *, timeout: float = config.SERVE_REQUEST_TIMEOUT_S
) -> CallResult:
    """POST image bytes to `url`, as the shown clients do.

    Raises:
        ServingError: no answer (the server is down or did not answer in time).
    """
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/octet-stream")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise ServingError(
            f"No answer from {url}: {error}. Start the server again.",
            key="serve.no_answer",
            url=url,
            reason=str(error)[:300],
        ) from error
    seconds = time.perf_counter() - start
    try:
        body = json.loads(raw)
    except ValueError:
        body = {"error": raw.decode("utf-8", "replace")[:2000]}
    return CallResult(status=status, body=body, seconds=seconds)
