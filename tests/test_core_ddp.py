"""train_ddp.py under torchrun for real, on CPU with gloo: two processes on one machine, and two
"nodes" (two torchrun launchers) meeting through c10d rendezvous on 127.0.0.1."""

from __future__ import annotations

import ast
import hashlib
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from core import ddp, models, processes, serving, snippets
from core.training import TrainConfig
from tests import corpus
from tests.corpus import SAMPLES

CLASSES = (0, 1)  # airplane, automobile: bit-exact in the corpus
PER_CLASS = 32
SETTINGS = TrainConfig(
    epochs=6,
    batch_size=16,
    learning_rate=0.002,
    optimizer="adam",
    schedule="none",
    augmentation="none",
)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """64 real CIFAR-10 test images from the corpus as an ImageFolder of two classes."""
    arrays = corpus.load_cifar_npz()
    root = tmp_path_factory.mktemp("folder")
    for label in CLASSES:
        folder = root / str(arrays["classes"][label])
        folder.mkdir()
        for index in np.flatnonzero(arrays["labels"] == label)[:PER_CLASS]:
            Image.fromarray(arrays["data"][index]).save(folder / f"{index:05d}.png")
    return root


def script_for(folder: pathlib.Path, *, language: str = "en") -> str:
    data = ddp.DataSpec(
        folder=str(folder), data_dir="", subset=64, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)
    )
    return ddp.ddp_script("SmallVGG", SETTINGS, data=data, language=language)


def parameter_hash(module: torch.nn.Module) -> str:
    weights = b"".join(p.detach().cpu().numpy().tobytes() for p in module.parameters())
    return hashlib.sha256(weights).hexdigest()[:16]


def test_the_script_imports_nothing_of_the_app():
    tree = ast.parse(script_for(pathlib.Path("data")))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"argparse", "hashlib", "os", "time", "torch", "torchvision"}


@pytest.mark.parametrize("net", ["SmallVGG", "ResNet-8", "ResNet-20"])
def test_the_script_holds_the_apps_network_code(net):
    code = ddp.ddp_script(
        net,
        TrainConfig(),
        data=ddp.DataSpec(None, "data", 100, (0.5,) * 3, (0.25,) * 3),
        language="zh",
    )
    assert snippets.net_code(net, num_classes=10, language="zh") in code
    for piece in ("DistributedSampler", "set_epoch", "DistributedDataParallel", '"gloo"', "nccl"):
        assert piece in code
    assert "CIFAR10(args.data, train=True" in code
    assert "每个进程" in code  # comments follow the UI language


def test_the_commands_cover_one_machine_and_several():
    commands = ddp.torchrun_commands()
    assert commands.startswith("torchrun --nproc_per_node=2 train_ddp.py\n")
    assert "--nnodes=2 --node_rank=1" in commands
    assert "--rdzv-backend=c10d --rdzv-endpoint=HOST:29400" in commands


@pytest.mark.slow
def test_two_processes_end_with_the_same_weights_and_a_checkpoint_the_app_loads(
    image_folder, tmp_path
):
    (tmp_path / ddp.SCRIPT_FILE).write_text(script_for(image_folder))
    job = ddp.TorchrunJob(tmp_path, [ddp.SCRIPT_FILE], nproc=2)
    assert job.wait(600) == 0, job.log
    hashes = ddp.parameter_hashes(job.log)
    assert set(hashes) == {0, 1}
    assert hashes[0] == hashes[1]
    losses = ddp.epoch_losses(job.log)
    assert len(losses) == SETTINGS.epochs
    assert losses[-1] < 0.75 * losses[0]
    trained = ddp.load_checkpoint(tmp_path / ddp.CHECKPOINT_FILE, name="DDP")
    assert trained.categories == ("airplane", "automobile")
    assert parameter_hash(trained.module) == hashes[0]
    predictions = models.classify_bytes(
        (SAMPLES / "rocket.jpg").read_bytes(), model=models.from_trained(trained)
    ).predictions
    assert {p.label for p in predictions} == {"airplane", "automobile"}


@pytest.mark.slow
def test_two_nodes_on_loopback_meet_through_c10d_and_agree(image_folder, tmp_path):
    (tmp_path / ddp.SCRIPT_FILE).write_text(script_for(image_folder))
    endpoint = f"127.0.0.1:{serving.free_port()}"
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    launchers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes=2",
                f"--node_rank={node}",
                "--nproc_per_node=1",
                "--rdzv-backend=c10d",
                f"--rdzv-endpoint={endpoint}",
                "--rdzv-id=loopback",
                "--local-addr=127.0.0.1",
                ddp.SCRIPT_FILE,
                "--max-steps=4",
                f"--checkpoint=node{node}.pt",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
        )
        for node in (0, 1)
    ]
    logs = [launcher.communicate(timeout=600)[0] for launcher in launchers]
    assert [launcher.returncode for launcher in launchers] == [0, 0], logs
    hashes = ddp.parameter_hashes("\n".join(logs))
    assert set(hashes) == {0, 1}
    assert hashes[0] == hashes[1]
    assert "step 4/4" in "\n".join(logs)


@pytest.mark.slow
def test_stop_ends_the_launcher_and_every_worker(image_folder, tmp_path):
    (tmp_path / ddp.SCRIPT_FILE).write_text(script_for(image_folder))
    job = ddp.TorchrunJob(tmp_path, [ddp.SCRIPT_FILE, "--epochs=100"], nproc=2)
    deadline = time.monotonic() + 300
    while "epoch 1:" not in job.log and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "epoch 1:" in job.log, job.log
    group = [job.process.pid, *processes.descendants(job.process.pid)]
    assert len(group) >= 3  # the launcher and its two workers
    job.stop()
    assert job.stopped and not job.running
    assert [pid for pid in group if processes.alive(pid)] == []


def test_a_file_that_is_not_a_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"weights": torch.zeros(1)}, path)
    with pytest.raises(ddp.CheckpointError):
        ddp.load_checkpoint(path, name="x")
    with pytest.raises(ddp.CheckpointError):
        ddp.load_checkpoint(tmp_path / "missing.pt", name="x")


def test_each_ranks_fingerprint_is_found_when_two_ranks_shared_a_line():
    # Two processes writing to one pipe at the same moment can interleave their lines.
    log = (
        "epoch 1: loss 2.3010 step 4/4, 64 images in 0.50 s\n"
        "rank 1: parameters 0123456789abcdefrank 0: parameters 0123456789abcdef\n"
        "\n"
        "saved checkpoint.pt"
    )
    assert ddp.parameter_hashes(log) == {0: "0123456789abcdef", 1: "0123456789abcdef"}
