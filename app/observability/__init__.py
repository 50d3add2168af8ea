"""Observability: request ids (context.py, requests.py), Prometheus metrics (metrics.py) and the
hooks the app factory installs. Kept apart so services only call a function or two."""
