"""What a learner takes away from a served model: the clients that call it (curl, Python) and a
bundle that serves it anywhere Ray runs (serve_app.py, the model file, requirements, README).

Every text here is a complete program or file; comments follow the UI language ("en"/"zh").
"""

from __future__ import annotations

import io
import json
import zipfile

from torch import nn

from core import deploy
from core.models import ModelRecord

MODEL_FILE = "model_torchscript.pt"
CATEGORIES_FILE = "categories.json"
APP_FILE = "serve_app.py"
CONFIG_FILE = "serve_config.yaml"
BUNDLE_FILES = (APP_FILE, MODEL_FILE, CATEGORIES_FILE, "requirements.txt", CONFIG_FILE, "README.md")

_COMMENTS = {
    "en": {
        "send": "send the photo's bytes; the server answers with JSON",
        "status": "HTTP status: 200 OK, 400 not an image",
        "top": "the top-5 classes, best first",
        "app_doc": "Serve {title} over HTTP with Ray Serve: POST image bytes, get a JSON top-5.",
        "run_local": "Here:          serve run serve_app:app",
        "run_check": "Check offline: python serve_app.py photo.jpg",
        "preprocess": "the same preprocessing as the app's Classify page",
        "decode": "JPEG only: decode at a reduced scale, as the app does",
        "replica": "one copy of the model per replica; replicas share the cores, one thread each",
        "bad_image": "not an image: answer 400 with the reason",
    },
    "zh": {
        "send": "发送照片的字节；服务器以 JSON 回答",
        "status": "HTTP 状态码：200 成功，400 不是图片",
        "top": "前 5 个类别，从高到低",
        "app_doc": "用 Ray Serve 通过 HTTP 提供 {title}：POST 图片字节，返回 JSON 格式的前 5 名。",
        "run_local": "本机运行：    serve run serve_app:app",
        "run_check": "离线检查：    python serve_app.py photo.jpg",
        "preprocess": "与应用“分类”页相同的预处理",
        "decode": "仅 JPEG：按较小比例解码，与应用相同",
        "replica": "每个副本一份模型；副本共享 CPU 核心，各用一个线程",
        "bad_image": "不是图片：返回 400 和原因",
    },
}


def _comments(language: str) -> dict[str, str]:
    return _COMMENTS.get(language, _COMMENTS["en"])


def curl_command(url: str, *, image_path: str) -> str:
    """The shell line that POSTs `image_path` to `url` and prints the JSON answer."""
    return f'curl -s -X POST --data-binary "@{image_path}" {url}\n'


def python_client_code(url: str, *, image_path: str, language: str = "en") -> str:
    """A standalone Python client (standard library only): POST `image_path` to `url`, print
    the HTTP status, then one `0.9514  espresso` line per class."""
    notes = _comments(language)
    return f"""\
import json
import urllib.request

URL = {url!r}

with open({image_path!r}, "rb") as file:
    request = urllib.request.Request(URL, data=file.read(), method="POST")
# {notes["send"]}
with urllib.request.urlopen(request, timeout=30) as response:
    print(response.status)  # {notes["status"]}
    answer = json.load(response)
for prediction in answer["predictions"]:  # {notes["top"]}
    print(f"{{prediction['probability']:.4f}}  {{prediction['label']}}")
"""


def serve_app_code(record: ModelRecord, *, language: str = "en") -> str:
    """serve_app.py: a Ray Serve deployment of the bundle's TorchScript model, with no import of
    this app. `python serve_app.py photo.jpg` classifies a file without a server."""
    notes = _comments(language)
    steps = record.preprocessing
    mode = steps.interpolation.upper()
    return f'''\
"""{notes["app_doc"].format(title=record.title)}

{notes["run_local"]}
{notes["run_check"]}
"""

import io
import json
import pathlib
import sys

import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse
from torchvision.transforms import v2

HERE = pathlib.Path(__file__).resolve().parent
TITLE = {record.title!r}
CATEGORIES = json.loads((HERE / {CATEGORIES_FILE!r}).read_text("utf-8"))
# {notes["preprocess"]}
preprocess = v2.Compose([
    v2.Resize({steps.resize_size}, interpolation=v2.InterpolationMode.{mode}, antialias=True),
    v2.CenterCrop({steps.crop_size}),
    v2.ToImage(),
    v2.ToDtype(torch.float32, scale=True),
    v2.Normalize(mean={list(steps.mean)}, std={list(steps.std)}),
])


def load_model():
    return torch.jit.load(HERE / {MODEL_FILE!r}, map_location="cpu").eval()


def classify(data, model):
    """Image file bytes -> {{"model", "predictions": top-5 [{{label, index, probability}}]}}."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", ({steps.resize_size}, {steps.resize_size}))  # {notes["decode"]}
    image = ImageOps.exif_transpose(image).convert("RGB")
    with torch.inference_mode():
        probabilities = model(preprocess(image).unsqueeze(0)).softmax(dim=1)[0]
    top = probabilities.topk(min(5, len(CATEGORIES)))
    predictions = [
        {{"label": CATEGORIES[index], "index": index, "probability": round(value, 6)}}
        for value, index in zip(top.values.tolist(), top.indices.tolist())
    ]
    return {{"model": TITLE, "predictions": predictions}}


@serve.deployment(num_replicas=1, ray_actor_options={{"num_cpus": 1}})
class ImageClassifier:
    def __init__(self):
        torch.set_num_threads(1)  # {notes["replica"]}
        self.model = load_model()

    async def __call__(self, request: Request):
        try:
            return JSONResponse(classify(await request.body(), self.model))
        except (UnidentifiedImageError, OSError, ValueError) as error:  # {notes["bad_image"]}
            return JSONResponse({{"error": str(error)}}, status_code=400)


app = ImageClassifier.bind()

if __name__ == "__main__":
    answer = classify(pathlib.Path(sys.argv[1]).read_bytes(), load_model())
    for prediction in answer["predictions"]:
        print(f"{{prediction['probability']:.4f}}  {{prediction['label']}}")
'''


def serve_config(*, replicas: int = 2) -> str:
    """serve_config.yaml for `serve deploy` on a running Ray cluster."""
    return f"""\
# serve deploy serve_config.yaml   (Ray cluster started with `ray start --head`)
proxy_location: EveryNode
http_options:
  host: 0.0.0.0
  port: 8000
applications:
  - name: classifier
    route_prefix: /classify
    import_path: serve_app:app
    # runtime_env:
    #   working_dir: https://example.com/serve_bundle.zip   # the bundle, reachable by every node
    deployments:
      - name: ImageClassifier
        num_replicas: {replicas}
        ray_actor_options:
          num_cpus: 1
"""


_README = {
    "en": """\
# Serve {title} with Ray Serve

Files: `serve_app.py` (the deployment), `{model}` (TorchScript: no model code needed),
`{categories}`, `requirements.txt`, `{config}`.

```bash
pip install -r requirements.txt
python serve_app.py photo.jpg          # classify one file, no server
serve run serve_app:app                # serve on http://127.0.0.1:8000/
curl -s -X POST --data-binary "@photo.jpg" http://127.0.0.1:8000/
```

## On a cluster

The same `serve_app.py` runs on many machines: Ray places the replicas, the proxy spreads requests.

```bash
ray start --head --port=6379                 # on the head node
ray start --address=HEAD_IP:6379             # on every other node
serve deploy {config}                        # from this folder, on the head node
serve status
curl -s -X POST --data-binary "@photo.jpg" http://HEAD_IP:8000/classify
```

`serve deploy` imports `serve_app` on every node: copy this folder to the same path on each
node and start Ray from it, or upload the zip and set `runtime_env.working_dir` in `{config}`
to its URL. Raise `num_replicas` there to serve more requests at once.
""",
    "zh": """\
# 用 Ray Serve 提供 {title}

文件：`serve_app.py`（部署），`{model}`（TorchScript：无需模型代码），`{categories}`，
`requirements.txt`，`{config}`。

```bash
pip install -r requirements.txt
python serve_app.py photo.jpg          # 不启动服务器，直接分类一个文件
serve run serve_app:app                # 在 http://127.0.0.1:8000/ 提供服务
curl -s -X POST --data-binary "@photo.jpg" http://127.0.0.1:8000/
```

## 在集群上

同一个 `serve_app.py` 可以在多台机器上运行：Ray 安排副本，代理分发请求。

```bash
ray start --head --port=6379                 # 在主节点上
ray start --address=HEAD_IP:6379             # 在其他每个节点上
serve deploy {config}                        # 在主节点上，于本文件夹中运行
serve status
curl -s -X POST --data-binary "@photo.jpg" http://HEAD_IP:8000/classify
```

`serve deploy` 会在每个节点上导入 `serve_app`：把本文件夹复制到每个节点的相同路径并从那里启动
Ray，或者上传 zip 并把 `{config}` 中的 `runtime_env.working_dir` 设为它的 URL。
提高其中的 `num_replicas` 可以同时处理更多请求。
""",
}

_REQUIREMENTS = """\
torch>=2.4
torchvision>=0.19
pillow>=10.3
ray[serve]>=2.40
"""


def bundle_zip(
    record: ModelRecord, module: nn.Module, *, replicas: int = 2, language: str = "en"
) -> bytes:
    """The serving bundle as a zip: everything `serve run` / `serve deploy` need, and nothing
    of this app. The model is traced to TorchScript at the record's crop size."""
    files = {
        APP_FILE: serve_app_code(record, language=language).encode("utf-8"),
        MODEL_FILE: deploy.torchscript_bytes(module, image_size=record.preprocessing.crop_size),
        CATEGORIES_FILE: json.dumps(list(record.meta.categories), ensure_ascii=False).encode(
            "utf-8"
        ),
        "requirements.txt": _REQUIREMENTS.encode("utf-8"),
        CONFIG_FILE: serve_config(replicas=replicas).encode("utf-8"),
        "README.md": _README.get(language, _README["en"])
        .format(
            title=record.title, model=MODEL_FILE, categories=CATEGORIES_FILE, config=CONFIG_FILE
        )
        .encode("utf-8"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in BUNDLE_FILES:
            archive.writestr(name, files[name])
    return buffer.getvalue()
