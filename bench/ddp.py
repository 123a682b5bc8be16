"""Training throughput of train_ddp.py under torchrun with 1 and 2 processes on this machine,
on the same real CIFAR-10 images, in the same run.

    python bench/ddp.py [--images 1024] [--epochs 3]

Expect ≤ 1× on a 2-core machine: two processes split the same two cores and add an all-reduce
per step, so DDP here shows correctness and the scale-out path, not speed; the gain comes with
one process per GPU or per machine. The first epoch (start-up, warm-up) is not counted.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import tempfile

from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from core import ddp
from core.training import TrainConfig
from tests.corpus import load_cifar_npz


def write_folder(root: pathlib.Path, count: int) -> None:
    arrays = load_cifar_npz()
    for index in range(count):
        folder = root / str(arrays["classes"][arrays["labels"][index]])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arrays["data"][index]).save(folder / f"{index:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = pathlib.Path(temporary)
        write_folder(root / "data", args.images)
        settings = TrainConfig(epochs=args.epochs, batch_size=128, augmentation="standard")
        data = ddp.DataSpec(
            folder=str(root / "data"),
            data_dir="",
            subset=args.images,
            mean=(0.4914, 0.4822, 0.4465),
            std=(0.2470, 0.2435, 0.2616),
        )
        (root / ddp.SCRIPT_FILE).write_text(ddp.ddp_script("SmallVGG", settings, data=data))
        speeds = {}
        for processes in (1, 2):
            job = ddp.TorchrunJob(root, [ddp.SCRIPT_FILE], nproc=processes)
            if job.wait(1800) != 0:
                raise SystemExit(job.log)
            speeds[processes] = statistics.median(ddp.epoch_speeds(job.log)[1:])
    print(f"SmallVGG, {args.images} images, batch 128 in all, {args.epochs} epochs")
    for processes, speed in speeds.items():
        print(f"{processes} process(es): {speed:7.1f} images/s  {speed / speeds[1]:.2f}×")
    print("On 2 cores ≤ 1× is expected: the point is correctness and the path to more machines.")


if __name__ == "__main__":
    main()
