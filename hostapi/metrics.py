"""The metrics the API exposes live in core (`utask.core.metrics`), where the engine and plugin host feed them."""

from utask.core.metrics import ALWAYS_PUBLISHED, METRICS, REFRESH_INTERVAL, Metrics

__all__ = ["ALWAYS_PUBLISHED", "METRICS", "REFRESH_INTERVAL", "Metrics"]
