"""Every code block the app shows, built as plain text by pure, typed functions.

Each builder returns a complete program (its own imports, inputs and prints) that runs in a
fresh `python` in an empty folder holding only the files it names, and prints what the page
shows. Comments follow the UI language (`language="en"` or `"zh"`).
"""

from core.snippets.classify import cam_code, classification_code
from core.snippets.datasets import browse_code, detail_code, overview_code
from core.snippets.nets import CLASS_NAMES, net_code, net_imports, summary_code
from core.snippets.tensors import tensor_code
from core.snippets.training import training_code
from core.snippets.transforms import pipeline_lines, transforms_code

__all__ = [
    "CLASS_NAMES",
    "browse_code",
    "cam_code",
    "classification_code",
    "detail_code",
    "net_code",
    "net_imports",
    "overview_code",
    "pipeline_lines",
    "summary_code",
    "tensor_code",
    "training_code",
    "transforms_code",
]
