"""Ray Serve from the core API, for real: one Ray instance for the whole module (it takes ~20 s
to start on a 2-core machine), on loopback and a free port."""

from __future__ import annotations

import concurrent.futures
import io
import os
import pathlib
import socket
import subprocess
import sys
import zipfile

import pytest
import torch

from core import models, nets, processes, serve_bundle, serving
from core.trained import TrainedModel
from tests.corpus import SAMPLES

PHOTO = SAMPLES / "coffee.png"
# Ray Serve's own pydantic models warn on import; not this project's to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")


def small_trained_model() -> TrainedModel:
    """An untrained SmallVGG with three labels: a model Ray can rebuild from `core` alone."""
    torch.manual_seed(0)
    return TrainedModel(
        name="Small",
        net="SmallVGG",
        module=nets.build("SmallVGG", num_classes=3).eval(),
        categories=("ant", "bee", "cat"),
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        image_size=32,
    )


@pytest.fixture(scope="module")
def lite0() -> models.Classifier:
    return models.load(models.DEFAULT_MODEL, device=torch.device("cpu"))


@pytest.fixture(scope="module")
def host():
    serve_host = serving.ServeHost(port=serving.free_port(), max_deployments=2)
    yield serve_host
    serve_host.shutdown()


def top1(answer: dict) -> str:
    return answer["predictions"][0]["label"]


@pytest.mark.slow
def test_the_served_default_model_gives_the_same_top1_as_in_process(host, lite0):
    url = host.deploy("lite0", serving.served_model(lite0), replicas=1)
    assert url == f"http://127.0.0.1:{host.port}/lite0"
    assert host.status("lite0") == "RUNNING"
    result = serving.post_image(url, PHOTO.read_bytes())
    assert result.status == 200
    expected = models.classify_bytes(PHOTO.read_bytes(), model=lite0).predictions
    assert top1(result.body) == expected[0].label == "espresso"
    assert len(result.body["predictions"]) == 5
    assert result.body["predictions"][0]["probability"] == pytest.approx(
        expected[0].probability, abs=1e-4
    )


@pytest.mark.slow
def test_the_shown_python_client_runs_as_shown_against_the_server(host, tmp_path):
    code = serve_bundle.python_client_code(host.url("lite0"), image_path="coffee.png")
    (tmp_path / "coffee.png").write_bytes(PHOTO.read_bytes())
    (tmp_path / "client.py").write_text(code)
    done = subprocess.run(
        [sys.executable, "client.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "200"
    assert lines[1].endswith("  espresso") and len(lines) == 6


@pytest.mark.slow
def test_a_file_that_is_not_an_image_gets_a_400_with_the_reason(host):
    result = serving.post_image(host.url("lite0"), b"%PDF-1.4 not a photo")
    assert result.status == 400
    assert "Not an image" in result.body["error"]


@pytest.mark.slow
def test_two_replicas_answer_twenty_concurrent_requests_without_errors(host):
    trained = small_trained_model()
    classifier = models.from_trained(trained)
    url = host.deploy("small", serving.served_model(classifier), replicas=2)
    data = PHOTO.read_bytes()
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: serving.post_image(url, data), range(20)))
    assert [result.status for result in results] == [200] * 20
    expected = models.classify_bytes(data, model=classifier).predictions[0].label
    assert {top1(result.body) for result in results} == {expected}


@pytest.mark.slow
def test_a_deployment_over_the_cap_is_refused_with_a_clear_error(host):
    assert host.names() == {"lite0", "small"}
    with pytest.raises(serving.DeploymentLimitError) as caught:
        host.deploy("third", serving.served_model(models.from_trained(small_trained_model())))
    assert caught.value.params == {"limit": 2}
    host.remove("small")
    assert host.names() == {"lite0"}
    assert host.status("small") is None


@pytest.mark.slow
def test_shutdown_leaves_no_ray_process_behind(host):
    host.start()  # the module's Ray: already up after the tests above, started here if alone
    # Ray's processes only: the browser tests' server and Chromium are children of pytest too.
    ray_processes = [
        pid
        for pid in processes.descendants(os.getpid())
        if "ray" in processes.command_line(pid).lower()
    ]
    assert len(ray_processes) >= 3  # GCS, raylet, workers at least
    host.shutdown()
    assert not host.started
    still_running = [pid for pid in ray_processes if processes.alive(pid)]
    assert still_running == []


def test_a_taken_port_is_reported_before_ray_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        host = serving.ServeHost(port=port)
        with pytest.raises(serving.PortTakenError) as caught:
            host.start()
    assert caught.value.params == {"port": port}
    assert not host.started


def test_no_answer_is_a_serving_error_not_a_traceback():
    with pytest.raises(serving.ServingError) as caught:
        serving.post_image(f"http://127.0.0.1:{serving.free_port()}/gone", b"x", timeout=5)
    assert caught.value.key == "serve.no_answer"


@pytest.mark.slow
def test_the_bundle_serves_the_same_model_without_the_app(tmp_path, lite0):
    archive = serve_bundle.bundle_zip(lite0.record, lite0.module, language="zh")
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        assert tuple(bundle.namelist()) == serve_bundle.BUNDLE_FILES
        bundle.extractall(tmp_path)
    readme = (tmp_path / "README.md").read_text("utf-8")
    for command in ("serve run serve_app:app", "ray start --head", "serve deploy serve_config"):
        assert command in readme
    assert "ray[serve]" in (tmp_path / "requirements.txt").read_text()
    (tmp_path / "photo.png").write_bytes(PHOTO.read_bytes())
    done = subprocess.run(
        [sys.executable, "serve_app.py", "photo.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("  espresso")
    assert "core" not in {p.name for p in pathlib.Path(tmp_path).iterdir()}


def test_the_curl_command_posts_the_named_photo():
    assert serve_bundle.curl_command("http://127.0.0.1:8765/s-1", image_path="coffee.png") == (
        'curl -s -X POST --data-binary "@coffee.png" http://127.0.0.1:8765/s-1\n'
    )
