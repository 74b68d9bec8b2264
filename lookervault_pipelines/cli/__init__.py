"""The `lookervault` command: restores from scripts, recorded in the same Dagster instance the UI shows.

`commands` holds the click commands, `demo` the README's first command.
"""

from .commands import main

__all__ = ["main"]
