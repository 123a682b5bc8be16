"""Tensor playground code: each view's block as one complete program.

The core operations (`core.tensors`, `core.indexing`, `core.tensor_ops`) keep, in their `code`
field, the statement that computes their result from `t` (and `u`); this module puts the
statements that build `t` and `u` above it, the imports on top and the prints below.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.snippets._text import comment


def _split_imports(code: str) -> tuple[list[str], list[str]]:
    imports, body = [], []
    for line in code.splitlines():
        (imports if line.startswith(("import ", "from ")) else body).append(line)
    while body and not body[0].strip():
        body.pop(0)
    return imports, body


def tensor_code(
    *,
    tensors: Sequence[str],
    statement: str = "",
    prints: Sequence[str] = (),
    note: str | None = None,
    language: str = "en",
) -> str:
    """One complete program: imports, the code that builds each tensor, `statement`, prints.

    Args:
        tensors: the code that builds `t` (then `u`), as `core.tensors.build_tensor` gives it.
        statement: what the view computes, e.g. `result = t[1:, ::2]`.
        prints: expressions printed one per `print(...)` call, e.g. `"result"`.
        note: a `[snippets]` locale key whose text goes as a comment above `statement`.
        language: the UI language of the comment.
    """
    imports = ["import torch"]
    blocks: list[str] = []
    for part in [*tensors, statement]:
        part_imports, body = _split_imports(part)
        imports += [line for line in part_imports if line not in imports]
        if body:
            blocks.append("\n".join(body))
    if "np." in statement and "import numpy as np" not in imports:
        imports.insert(0, "import numpy as np")
    if note is not None and statement:
        blocks[-1] = f"# {comment(language, note)}\n{blocks[-1]}"
    lines = "\n".join(f"print({expression})" for expression in prints)
    return "\n".join(imports) + "\n\n" + "\n\n".join([*blocks, lines]).rstrip() + "\n"
