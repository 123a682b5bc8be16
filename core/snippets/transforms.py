"""Transforms page code: the pipeline as a `v2.Compose`, applied to the image the page names
with the first draw's seed, printing the final output's type, shape and range as the page's
step table shows them."""

from __future__ import annotations

from collections.abc import Sequence

from core import config
from core.snippets._text import comment
from core.transforms import CATALOGUE, Step, code_value

_CODE_WIDTH = 88  # calls longer than this get one argument per line
_SIDE = config.MAX_SOURCE_SIDE


def pipeline_lines(pipeline: Sequence[Step], *, language: str = "en") -> list[str]:
    """`transform = v2.Compose([...])` for `pipeline`, one line per step (or per argument)."""
    lines = ["transform = v2.Compose(["]
    for step in pipeline:
        spec = CATALOGUE[step.name]
        arguments = [
            f"{param.name}={code_value(param, step.params[param.name])}" for param in spec.params
        ]
        call = f"    v2.{step.name}({', '.join(arguments)}),"
        if len(call) <= _CODE_WIDTH:
            lines.append(call)
        else:
            lines += [f"    v2.{step.name}(", *[f"        {a}," for a in arguments], "    ),"]
        if step.name == "ToDtype" and step.params["scale"]:
            lines[-1] += f"  # {comment(language, 'to_tensor')}"
    if not pipeline:
        lines.append(f"    v2.Identity(),  # {comment(language, 'empty_pipeline')}")
    lines.append("])")
    return lines


def _image_lines(kind: str, name: str, *, root: str, index: int, language: str) -> list[str]:
    if kind == "cifar10":
        return [
            f"image, label = CIFAR10(root={root!r}, train=False)[{index}]",
        ]
    lines = [f"image = Image.open({name!r})"]
    if kind == "upload":  # JPEGs decode straight at a reduced scale, as the app reads uploads
        lines.append(f'image.draft("RGB", ({_SIDE}, {_SIDE}))')
    lines.append('image = ImageOps.exif_transpose(image).convert("RGB")')
    return lines


def transforms_code(
    pipeline: Sequence[Step],
    *,
    seed: int,
    source: str,
    file_name: str = "",
    root: str = "",
    index: int = 0,
    language: str = "en",
) -> str:
    """A program that applies `pipeline` to the page's image as the page's draw of `seed` does.

    Args:
        pipeline: the steps.
        seed: the first draw's seed (the page seeds draw i with seed + i).
        source: "sample" or "upload" (the photo `file_name`, beside the script), or "cifar10"
            (test image `index` of CIFAR-10 in `root`).
        language: the UI language of the comments.
    """
    imports = ["import torch"]
    if source == "cifar10":
        imports.append("from torchvision.datasets import CIFAR10")
    imports.append("from PIL import Image" + (", ImageOps" if source != "cifar10" else ""))
    imports.append("from torchvision.transforms import v2")
    lines = [
        *imports,
        "",
        *_image_lines(source, file_name, root=root, index=index, language=language),
        f"# {comment(language, 'fit_source', side=_SIDE)}",
        f"image.thumbnail(({_SIDE}, {_SIDE}), Image.Resampling.LANCZOS)",
        "",
        *pipeline_lines(pipeline, language=language),
        "",
        f"torch.manual_seed({seed})  # {comment(language, 'draw_seed')}",
        "output = transform(image)",
        "",
        f"# {comment(language, 'last_step_row')}",
        "if isinstance(output, Image.Image):",
        '    print("PIL", output.mode)',
        "    output = v2.functional.pil_to_tensor(output)",
        "else:",
        "    print(output.dtype)",
        "values = output.float()",
        "print(tuple(output.shape))",
        "print(values.min().item(), values.max().item(), values.mean().item())",
    ]
    return "\n".join(lines) + "\n"
