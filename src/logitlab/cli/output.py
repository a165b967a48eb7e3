"""Where the command line writes: tables to stdout (rich on a terminal, a wide
colourless page when piped, so that term names are never cut), warnings and
progress to stderr."""

from __future__ import annotations

import sys

from rich.console import Console

console = Console() if sys.stdout.isatty() else Console(width=160, color_system=None)
err_console = Console(stderr=True)


def emit_warnings(caught) -> None:
    """Print caught warnings to stderr, one line each."""
    for w in caught:
        err_console.print(f"[yellow]warning:[/yellow] {w.message}", highlight=False)
