"""The echo action plugin."""
