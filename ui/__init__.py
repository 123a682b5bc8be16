"""Streamlit-only helpers shared by the pages: cached resources, widgets, i18n."""
