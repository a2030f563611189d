"""The command line: one module per command group, all registered on :func:`main`."""

from .main import main

__all__ = ["main"]
