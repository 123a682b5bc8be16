"""Code shown to learners: one block with a "Download as .py" button beside it.

Every block shown through `show_code` is a complete program (imports, inputs, prints) built in
`core/` and run as shown by the tests; `language` marks what is not Python (a repr, a shell line).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.i18n import t

_MIME = {"python": "text/x-python", "bash": "text/x-shellscript", "cpp": "text/x-c++src"}


def show_code(
    code: str, *, file_name: str, key: str, language: str = "python", where: Any = st
) -> None:
    """Draw `code` and a download button for it, in `where` (a column, tab or expander).

    Args:
        code: the program, exactly as the learner copies it.
        file_name: the name the download gets, e.g. "classify_coffee.py".
        key: a page-prefixed key, unique in the run, for the button.
        language: "python" for a program the tests run; anything else is shown only.
    """
    where.code(code, language=language)
    where.download_button(
        t("code.download", name=file_name),
        data=code.encode("utf-8"),
        file_name=file_name,
        mime=_MIME.get(language, "text/plain"),
        key=key,
        icon=":material/download:",
        on_click="ignore",
    )
