"""Torch Playground's pure core: Python + torch, no Streamlit. Everything the app does, a notebook
can do by importing these modules."""
