"""Where the command line writes: tables to stdout (rich on a terminal, a wide
colourless page when piped, so that term names are never cut), warnings and
progress to stderr."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape as rich_escape

console = Console() if sys.stdout.isatty() else Console(width=160, color_system=None)
err_console = Console(stderr=True)


def emit_warnings(caught) -> None:
    """Print caught warnings to stderr, one line each."""
    for w in caught:
        err_console.print(f"[yellow]warning:[/yellow] {rich_escape(str(w.message))}",
                          highlight=False, soft_wrap=True)


def check_out_file(out: Path, example: str) -> None:
    """``--out`` must name a file in an existing directory (checked before any work)."""
    if out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a directory; give a file name, e.g. "
                         f"{str(out / example)!r}.")
    parent = out.parent
    if not parent.is_dir():
        raise ValueError(f"--out {str(out)!r}: the directory {str(parent)!r} does not exist; "
                         "create it first.")
