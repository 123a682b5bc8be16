"""Torch Playground's pure core: Python + torch, no Streamlit. Everything the app does, a notebook
can do by importing these modules."""

import os

# OpenMP's threads spin after each parallel region by default. On a shared 2-core machine a
# spinning thread holds the core that the thread it waits for needs: a forward pass from
# Python's main thread took 0.4-0.7 s instead of 50 ms (bench/classify.py). Sleeping instead
# costs little; libgomp reads this once, when torch loads, so it must be set before that.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
