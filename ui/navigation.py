"""The app's pages, in one list: the router builds `st.navigation` from it and the home page
describes each entry. Titles and summaries come from the locale section named by `key`."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class PageSpec:
    key: str  # locale section holding `title` and `summary`; also the URL path
    path: str  # script under pages/
    icon: str
    section: str  # locale key under `nav.`


PAGES: tuple[PageSpec, ...] = (
    PageSpec("home", "pages/home.py", ":material/home:", "learn"),
    PageSpec("classify", "pages/classify.py", ":material/image_search:", "learn"),
    PageSpec("tensors", "pages/tensors.py", ":material/grid_on:", "learn"),
    PageSpec("datasets", "pages/datasets.py", ":material/photo_library:", "data"),
    PageSpec("transforms", "pages/transforms.py", ":material/tune:", "data"),
    PageSpec("train", "pages/train.py", ":material/model_training:", "build"),
    PageSpec("deploy", "pages/deploy.py", ":material/rocket_launch:", "build"),
    PageSpec("serve", "pages/serve.py", ":material/hub:", "build"),
)
