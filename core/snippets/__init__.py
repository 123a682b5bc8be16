"""Every code block the app shows, built as plain text by pure, typed functions.

Each builder returns a complete program (its own imports, inputs and prints) that runs in a
fresh `python` in an empty folder holding only the files it names, and prints what the page
shows. Comments follow the UI language (`language="en"` or `"zh"`).
"""

from core.snippets.classify import classification_code
from core.snippets.nets import CLASS_NAMES, net_code, net_imports, summary_code
from core.snippets.training import training_code

__all__ = [
    "CLASS_NAMES",
    "classification_code",
    "net_code",
    "net_imports",
    "summary_code",
    "training_code",
]
