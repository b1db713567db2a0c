"""The operators' web console (server-rendered; a little JavaScript for live updates)."""

from intake.console.views import install

__all__ = ["install"]
