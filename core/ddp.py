"""Scale a training run out: a standalone `train_ddp.py` (torch.distributed +
DistributedDataParallel, launched by torchrun), a launcher that runs it as a process group with
a live log, and the loader that brings its checkpoint back into the app.

The script holds the network as `core.snippets.net_code` prints it (the same layers in the same
order as `core.nets`, so the checkpoint loads into the app's network) and the Train page's
normalisation and augmentation as torchvision transforms, so it needs nothing of the app.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading

import torch

from core import config, nets, processes, snippets
from core.errors import PlaygroundError
from core.trained import TrainedModel
from core.training import TrainConfig

SCRIPT_FILE = "train_ddp.py"
CHECKPOINT_FILE = "checkpoint.pt"
RDZV_PORT = 29400
IMAGE_SIZE = 32

_PARAMETERS_LINE = re.compile(r"rank (\d+): parameters ([0-9a-f]{16})")
_EPOCH_LINE = re.compile(r"^epoch (\d+): loss ([0-9.]+).*, (\d+) images in ([0-9.]+) s$")


class CheckpointError(PlaygroundError, ValueError):
    """A checkpoint file this app cannot load back."""

    key = "ddp.bad_checkpoint"


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Where the script reads its training images.

    Attributes:
        folder: an ImageFolder root (class sub-folders), or None for CIFAR-10 in `data_dir`.
        data_dir: torchvision's CIFAR-10 root (used when `folder` is None).
        subset: how many training images (a seeded random subset).
        mean, std: Normalize values, as the Train page uses for this source.
    """

    folder: str | None
    data_dir: str
    subset: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


_COMMENTS = {
    "en": {
        "doc": "Train {net} on several processes with DistributedDataParallel (DDP).",
        "one": "One machine, 2 processes:",
        "many": "Two machines (run on each, node_rank 0 and 1; HOST is node 0's address):",
        "backend": "gloo works on CPUs, nccl on NVIDIA GPUs",
        "seed": "the same seed everywhere: every process builds the same starting model",
        "shard": "each process gets its own shard of the data, reshuffled every epoch",
        "batch": "the global batch is split across processes",
        "wrap": "DDP copies rank 0's weights to every process",
        "epoch": "a new shuffle per epoch, the same on every process",
        "backward": "DDP averages the gradients of all processes here (all-reduce)",
        "average": "the epoch's mean loss over every process",
        "rank0": "one process (rank 0) logs and saves",
        "fingerprint": "every process prints a hash of its weights: they must all agree",
    },
    "zh": {
        "doc": "用 DistributedDataParallel（DDP）在多个进程上训练 {net}。",
        "one": "一台机器，2 个进程：",
        "many": "两台机器（每台各运行一次，node_rank 为 0 和 1；HOST 是 0 号节点的地址）：",
        "backend": "CPU 用 gloo，NVIDIA GPU 用 nccl",
        "seed": "所有进程同一个种子：每个进程构建相同的初始模型",
        "shard": "每个进程拿到数据的一个分片，每轮重新打乱",
        "batch": "全局批次在各进程之间平分",
        "wrap": "DDP 把 0 号进程的权重复制到每个进程",
        "epoch": "每轮新的打乱顺序，各进程一致",
        "backward": "DDP 在这里对所有进程的梯度求平均（all-reduce）",
        "average": "本轮在所有进程上的平均损失",
        "rank0": "只有一个进程（rank 0）记录日志并保存",
        "fingerprint": "每个进程打印其权重的哈希：它们必须一致",
    },
}


def torchrun_commands(*, processes: int = config.DDP_PROCESSES) -> str:
    """The shell lines that launch the script on one machine and on two."""
    rendezvous = f"--rdzv-backend=c10d --rdzv-endpoint=HOST:{RDZV_PORT} --rdzv-id=playground"
    return (
        f"torchrun --nproc_per_node={processes} {SCRIPT_FILE}\n"
        f"# node 0 (HOST)\n"
        f"torchrun --nnodes=2 --node_rank=0 --nproc_per_node={processes} {rendezvous} "
        f"{SCRIPT_FILE}\n"
        f"# node 1\n"
        f"torchrun --nnodes=2 --node_rank=1 --nproc_per_node={processes} {rendezvous} "
        f"{SCRIPT_FILE}\n"
    )


def _optimizer_code(settings: TrainConfig) -> str:
    if settings.optimizer == "adam":
        return (
            f"torch.optim.Adam(model.parameters(), lr={settings.learning_rate}, "
            f"weight_decay={settings.weight_decay})"
        )
    return (
        f"torch.optim.SGD(model.parameters(), lr={settings.learning_rate}, momentum=0.9, "
        f"nesterov=True, weight_decay={settings.weight_decay})"
    )


def _scheduler_code(settings: TrainConfig) -> str:
    return {
        "none": "torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)",
        "step": "torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, total_steps // 3), "
        "gamma=0.1)",
        "cosine": "torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)",
        "onecycle": "torch.optim.lr_scheduler.OneCycleLR(optimizer, "
        f"max_lr={settings.learning_rate}, total_steps=total_steps)",
    }[settings.schedule]


def ddp_script(net: str, settings: TrainConfig, *, data: DataSpec, language: str = "en") -> str:
    """train_ddp.py: the Train page's run (network, data pipeline, optimiser, schedule) on every
    process torchrun starts. Rank 0 prints `epoch N: loss X` and saves `checkpoint.pt`; every
    rank prints `rank R: parameters <hash>`. Options: --data, --epochs, --max-steps,
    --checkpoint."""
    notes = _COMMENTS.get(language, _COMMENTS["en"])
    if data.folder is None:
        dataset = "CIFAR10(args.data, train=True, transform=train_transform)"
        default_data = data.data_dir
        resize = []
    else:
        dataset = "ImageFolder(args.data, transform=train_transform)"
        default_data = data.folder
        resize = [f"v2.Resize(({IMAGE_SIZE}, {IMAGE_SIZE}))"]
    augment = (
        [f"v2.RandomCrop({IMAGE_SIZE}, padding=4)", "v2.RandomHorizontalFlip()"]
        if settings.augmentation == "standard"
        else []
    )
    transform_steps = ",\n        ".join(
        [
            "v2.ToImage()",
            *resize,
            *augment,
            "v2.ToDtype(torch.float32, scale=True)",
            "v2.Normalize(MEAN, STD)",
        ]
    )
    commands = torchrun_commands().splitlines()
    return f'''\
"""{notes["doc"].format(net=net)}

{notes["one"]}
    {commands[0]}
{notes["many"]}
    {commands[2]}
    {commands[4]}
"""

import argparse
import hashlib
import os
import time

{snippets.net_imports(net)}import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler
from torchvision.datasets import CIFAR10, ImageFolder
from torchvision.transforms import v2

NET = {net!r}
SEED = {settings.seed}
EPOCHS = {settings.epochs}
BATCH_SIZE = {settings.batch_size}
SUBSET = {data.subset}
MEAN = {tuple(round(value, 4) for value in data.mean)}
STD = {tuple(round(value, 4) for value in data.std)}


{snippets.net_code(net, num_classes=10, language=language)}

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default={default_data!r})
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--max-steps", type=int, default=0, help="stop after N steps (0: all)")
    parser.add_argument("--checkpoint", default={CHECKPOINT_FILE!r})
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")  # {notes["backend"]}
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(SEED)  # {notes["seed"]}

    train_transform = v2.Compose([
        {transform_steps},
    ])
    train_set = {dataset}
    classes = train_set.classes
    chosen = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(SEED))
    train_set = Subset(train_set, chosen[:SUBSET].tolist())
    # {notes["shard"]}
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, seed=SEED)
    # {notes["batch"]}
    loader = DataLoader(train_set, batch_size=max(1, BATCH_SIZE // world), sampler=sampler)

    model = {snippets.CLASS_NAMES[net]}(num_classes=len(classes)).to(device)
    # {notes["wrap"]}
    model = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)
    optimizer = {_optimizer_code(settings)}
    total_steps = args.epochs * len(loader)
    if args.max_steps:
        total_steps = min(total_steps, args.max_steps)
    scheduler = {_scheduler_code(settings)}
    loss_function = nn.CrossEntropyLoss()

    step = 0
    for epoch in range(args.epochs):
        started = time.perf_counter()
        sampler.set_epoch(epoch)  # {notes["epoch"]}
        model.train()
        totals = torch.zeros(2, device=device)  # loss sum, images
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = loss_function(model(images), labels)
            loss.backward()  # {notes["backward"]}
            optimizer.step()
            scheduler.step()
            totals += torch.tensor([loss.item() * len(labels), len(labels)], device=device)
            step += 1
            if step == total_steps:
                break
        dist.all_reduce(totals)  # {notes["average"]}
        if rank == 0:  # {notes["rank0"]}
            loss_mean = (totals[0] / totals[1]).item()
            seconds = time.perf_counter() - started
            print(
                f"epoch {{epoch + 1}}: loss {{loss_mean:.4f}} step {{step}}/{{total_steps}}, "
                f"{{int(totals[1])}} images in {{seconds:.2f}} s",
                flush=True,
            )
        if step == total_steps:
            break

    # {notes["fingerprint"]}
    weights = b"".join(p.detach().cpu().numpy().tobytes() for p in model.module.parameters())
    print(f"rank {{rank}}: parameters {{hashlib.sha256(weights).hexdigest()[:16]}}", flush=True)
    if rank == 0:
        torch.save(
            {{
                "net": NET,
                "state_dict": model.module.state_dict(),
                "categories": list(classes),
                "mean": list(MEAN),
                "std": list(STD),
                "image_size": {IMAGE_SIZE},
                "steps": step,
            }},
            args.checkpoint,
        )
        print(f"saved {{args.checkpoint}}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''


def parameter_hashes(log: str) -> dict[int, str]:
    """Each rank's `rank R: parameters <hash>` line of a run's log, by rank."""
    # Searched in the whole log, not line by line: two ranks writing at once can share a line.
    return {int(match.group(1)): match.group(2) for match in _PARAMETERS_LINE.finditer(log)}


def epoch_losses(log: str) -> list[float]:
    """The `epoch N: loss X` values rank 0 printed, in order."""
    return [float(m.group(2)) for m in map(_EPOCH_LINE.match, log.splitlines()) if m]


def epoch_speeds(log: str) -> list[float]:
    """Images per second of each epoch rank 0 printed (all processes together), in order."""
    return [
        int(m.group(3)) / float(m.group(4)) for m in map(_EPOCH_LINE.match, log.splitlines()) if m
    ]


def load_checkpoint(path: pathlib.Path, *, name: str) -> TrainedModel:
    """The checkpoint train_ddp.py saved, as a model the app's pages can use.

    Raises:
        CheckpointError: the file is missing, unreadable, or not from train_ddp.py.
    """
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        module = nets.build(saved["net"], num_classes=len(saved["categories"]))
        module.load_state_dict(saved["state_dict"])
        return TrainedModel(
            name=name,
            net=saved["net"],
            module=module.eval(),
            categories=tuple(saved["categories"]),
            mean=tuple(saved["mean"]),
            std=tuple(saved["std"]),
            image_size=int(saved["image_size"]),
        )
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"{path} is not a checkpoint of train_ddp.py ({error}). Run the script again.",
            path=str(path),
            reason=str(error)[:300],
        ) from error


class TorchrunJob:
    """`torchrun` running a script as its own process group, its output collected line by line.

    `stop()` ends the whole group (the launcher and every worker it started).
    """

    def __init__(self, folder: pathlib.Path, arguments: list[str], *, nproc: int) -> None:
        self.folder = folder
        self.command = [
            sys.executable,
            "-m",
            "torch.distributed.run",  # what the `torchrun` command runs
            "--standalone",
            f"--nproc_per_node={nproc}",
            *arguments,
        ]
        self._lines: collections.deque[str] = collections.deque(maxlen=config.DDP_LOG_LINES)
        self._lock = threading.Lock()
        self.stopped = False
        # The cores shared out between the processes (torchrun alone would give each one).
        threads = str(max(1, (os.cpu_count() or 1) // nproc))
        # No PYTHONUNBUFFERED: it splits each print into two writes and lets ranks' lines
        # interleave. The script flushes its own whole lines instead.
        environment = {**os.environ, "OMP_NUM_THREADS": threads}
        self.process = subprocess.Popen(
            self.command,
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, so Stop reaches every worker
            env=environment,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._lock:
                self._lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        with self._lock:
            return "\n".join(self._lines)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def stop(self, *, grace_s: float = 10.0) -> None:
        """End the launcher and every worker: SIGTERM to the launcher's group (torchrun then
        stops the workers it started in their own sessions), SIGKILL to whatever is left after
        `grace_s`."""
        if not self.running:
            return
        self.stopped = True
        workers = processes.descendants(self.process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in workers:
            if processes.alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._reader.join(5)
