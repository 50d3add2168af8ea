"""Karma: a graph-aware change gateway for infrastructure configuration."""


def create_app(*args, **kwargs):
    from app.factory import create_app as _create  # noqa: PLC0415 - keep `import app` light

    return _create(*args, **kwargs)
