"""How fast does each deploy target load and run, compared with eager PyTorch?

    python bench/deploy.py [--net ResNet-20] [--images 64]

Exports a seeded network of `core.nets` to every target of `core.deploy` and prints, per target,
the time to load the file into its runtime and the latency per image (batch 1, 2 threads) on real
CIFAR-10 test images, each as a ratio to eager PyTorch measured in this same process: the
eager "load" baseline is rebuilding the net from its class code and loading its state_dict.
Latency is the best of a few rounds over the images (the minimum is least noisy on a shared box).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from core import deploy, nets, training  # noqa: E402
from core.trained import TrainedModel  # noqa: E402
from tests.corpus import load_cifar_npz  # noqa: E402

THREADS = 2
ROUNDS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", default="ResNet-20", choices=list(nets.NETS))
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    arguments = parser.parse_args()
    torch.set_num_threads(THREADS)

    cifar = load_cifar_npz()
    trained = TrainedModel(
        name=arguments.net,
        net=arguments.net,
        module=training.seeded_model(arguments.net, seed=0, num_classes=10).eval(),
        categories=tuple(str(name) for name in cifar["classes"]),
        mean=training.CIFAR10_MEAN,
        std=training.CIFAR10_STD,
        image_size=32,
    )
    subject = deploy.from_trained(trained)
    photos = [Image.fromarray(pixels) for pixels in cifar["data"][: arguments.images]]
    inputs = deploy.preprocess(photos, preprocessing=subject.preprocessing)

    baseline, expected = min(
        (deploy.eager_check(subject, inputs) for _ in range(arguments.rounds)),
        key=lambda pair: pair[0].seconds_per_image,
    )
    with tempfile.TemporaryDirectory() as folder:
        state_dict = deploy.export("state_dict", subject, folder=pathlib.Path(folder))
        loads = []
        for _ in range(arguments.rounds):  # rebuild from the class code + load_state_dict
            loads.append(deploy.check(state_dict, subject, inputs[:1], expected[:1]).load_seconds)
        eager_load = min(loads)
        print(
            f"{arguments.net}, {len(inputs)} CIFAR-10 test images, batch 1, {THREADS} threads, "
            f"torch {torch.__version__}"
        )
        per_image = baseline.seconds_per_image * 1e3
        print(f"eager: {per_image:.3f} ms/image, load {eager_load * 1e3:.0f} ms")
        print("| target | file size | load (× eager) | ms / image (× eager) | max abs Δ | top-1 |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for format in subject.formats:
            exported = deploy.export(format, subject, folder=pathlib.Path(folder))
            rounds = [
                deploy.check(exported, subject, inputs, expected) for _ in range(arguments.rounds)
            ]
            check = min(rounds, key=lambda result: result.seconds_per_image)
            print(
                f"| {format} | {exported.size / 1024:,.0f} KB "
                f"| {check.load_seconds / eager_load:.3g}× "
                f"| {check.seconds_per_image / baseline.seconds_per_image:.3g}× "
                f"| {check.max_abs_difference:.1e} | {check.top1_agreements}/{check.images} |"
            )


if __name__ == "__main__":
    main()
