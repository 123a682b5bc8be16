"""The tutorial's twelve reasons to use PyTorch, each tied to where this app shows it working.

Data only: the Home page words each reason from the locale section `why.<key>` and links the
first of its `pages` that the app has (pages can be added later, e.g. `deploy` and `serve`), with
`query` opening the right section. A reason the app cannot show says so (`why.<key>_limit`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping


@dataclasses.dataclass(frozen=True)
class Reason:
    """One reason, and where the learner sees it.

    Attributes:
        key: locale name under `why.` (`<key>` is the title, `<key>_text` the explanation).
        pages: page keys (as in `ui.navigation.PAGES`) that show it, the best first.
        query: URL values that open the page's section, keyed by page.
        limit: whether part of it is beyond this app (`why.<key>_limit` says which part).
    """

    key: str
    pages: tuple[str, ...] = ()
    query: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    limit: bool = False

    def page(self, available: Collection[str]) -> str | None:
        """The first of `pages` the app has, or None."""
        return next((page for page in self.pages if page in available), None)


REASONS: tuple[Reason, ...] = (
    Reason("dynamic_graphs", ("tensors",), {"tensors": {"t_v": "autograd"}}),
    Reason("hardware", ("tensors",), {"tensors": {"t_v": "devices"}}, limit=True),
    Reason("parallelism", ("serve",), limit=True),
    Reason("distributed", ("serve",), limit=True),
    Reason("production", ("deploy", "train"), limit=True),
    Reason("cloud", ("serve",), limit=True),
    Reason("browser", ("deploy", "train"), limit=True),
    Reason("mobile", ("deploy",), limit=True),
    Reason("cpp", ("deploy",)),
    Reason("onnx", ("deploy", "train")),
    Reason("ecosystem", ("classify", "datasets", "transforms")),
    Reason("community", limit=True),
)
