"""The examples of the README and of the documentation pages are tests.

For README.md and every ``docs/**/*.md`` this runner takes, in file order, the
fenced blocks that hold examples and runs them:

* ```` ```pycon ```` / ```` ```python ```` blocks containing ``>>>`` prompts run as
  doctests, all blocks of one file in one shared namespace (as a reader who
  types them in order would), with ``ELLIPSIS | NORMALIZE_WHITESPACE`` and a
  float tolerance: a number printed in the page with p decimals matches any
  computed number within one unit of its last decimal (:class:`NumberChecker`).
* ```` ```console ```` blocks hold ``$ logitlab ...`` lines, each followed by its
  expected output; every command runs in a subprocess (``python -m logitlab.cli``)
  and what it prints (standard output and error, as a terminal shows them) is
  compared the same way.

Blocks without prompts (shell set-up, syntax sketches, JSON schemas) are text.
``docs/tutorial.md`` is executed by myst-nb when the docs are built; it is run
here too only if it holds ``>>>`` blocks. Each file runs in its own temporary
directory as the working directory, where ``tests/data`` (the repository's data
files) is reachable under the same relative path as from the repository root, so
examples read ``tests/data/birthwt.csv`` and write their files beside it.
"""
from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n"
                   r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$", re.S | re.M)
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


#: pages whose examples start a Dask cluster or run many commands: full suite only (``slow``)
SLOW_PAGES = {"docs/guide/dask.md", "docs/guide/cli.md"}
#: the folders whose every page (but its index) must show tested examples
EXAMPLE_FOLDERS = ("docs/guide", "docs/from", "docs/contracts")


def documented_files() -> list[Path]:
    """README.md and the Markdown pages under docs/ (not the built site)."""
    files = [ROOT / "README.md"]
    docs = ROOT / "docs"
    if docs.is_dir():
        for path in sorted(docs.rglob("*.md")):
            if "_build" in path.relative_to(docs).parts:
                continue
            if path.relative_to(docs).as_posix() == "tutorial.md" and not _has_prompts(path):
                continue
            files.append(path)
    return files


def _has_prompts(path: Path) -> bool:
    return any(kind == "python" for kind, _, _ in example_blocks(path.read_text("utf-8")))


def example_blocks(text: str) -> list[tuple[str, str, int]]:
    """The example blocks of a Markdown text: (kind, body, line of the body),
    kind "python" (doctest) or "console" (``$ logitlab`` commands)."""
    blocks = []
    for m in FENCE.finditer(text):
        lang = (m.group("info").strip().split() or [""])[0].strip("{}")
        body = m.group("body")
        line = text.count("\n", 0, m.start("body")) + 1
        if lang in ("pycon", "python", "py") and re.search(r"^\s*>>> ", body, re.M):
            blocks.append(("python", body, line))
        elif lang == "console" and re.search(r"^\$ ", body, re.M):
            blocks.append(("console", body, line))
    return blocks


class NumberChecker(doctest.OutputChecker):
    """doctest's check, where a number of the expected output with a fraction or
    an exponent also matches a computed number within one unit of its last
    printed digit (what the page shows is a rounding of what is computed)."""

    def check_output(self, want, got, optionflags):
        if super().check_output(want, got, optionflags):
            return True
        return super().check_output(want, _align_numbers(want, got), optionflags)


def _align_numbers(want: str, got: str) -> str:
    """``got`` with each number replaced by the expected number at the same
    position when the two agree to the expected number's printed precision."""
    wants, gots = list(NUMBER.finditer(want)), list(NUMBER.finditer(got))
    if len(wants) != len(gots):
        return got
    pieces, last = [], 0
    for w, g in zip(wants, gots):
        if _close(w.group(), g.group()):
            pieces.append(got[last:g.start()])
            pieces.append(w.group())
            last = g.end()
    pieces.append(got[last:])
    return "".join(pieces)


def _close(w: str, g: str) -> bool:
    """Whether ``g`` rounds to ``w``: within one unit of ``w``'s last digit
    (relative to its exponent if it has one), or within 1e-9 relative for
    numbers printed to more digits than a computation reproduces across machines."""
    if "." not in w and "e" not in w.lower():
        return False
    mantissa, _, exponent = w.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    unit = 10.0 ** (-decimals + (int(exponent) if exponent else 0))
    try:
        return abs(float(w) - float(g)) <= max(unit * 1.000001, 1e-9 * abs(float(w)))
    except ValueError:
        return False


def _run_python(body: str, line: int, path: Path, globs: dict, runner: doctest.DocTestRunner,
                report: list[str]):
    test = doctest.DocTestParser().get_doctest(body, globs, f"{path.name}:{line}", str(path),
                                               line - 1)
    runner.run(test, out=report.append, clear_globs=False)
    globs.update(test.globs)      # DocTest runs in a copy: keep what the block defined


def _run_console(body: str, line: int, path: Path, env: dict, failures: list[str]):
    checker = NumberChecker()
    commands, current = [], None
    for offset, text in enumerate(body.splitlines()):
        if text.startswith("$ "):
            current = [text[2:], [], line + offset]
            commands.append(current)
        elif current is not None:
            current[1].append(text)
    for command, output, at in commands:
        argv = shlex.split(command)
        if not argv or argv[0] != "logitlab":
            failures.append(f"{path.name}:{at}: console examples run `logitlab ...` only: {command}")
            continue
        done = subprocess.run([sys.executable, "-m", "logitlab.cli", *argv[1:]], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300)
        want = "\n".join(output).strip() + "\n"
        got = done.stdout.strip() + "\n"
        if done.returncode != 0 or not checker.check_output(want, got, OPTIONS):
            failures.append(f"{path.name}:{at}: $ {command}\n--- expected\n{want}--- got "
                            f"(exit {done.returncode})\n{got}")


def _params():
    for path in documented_files():
        name = path.relative_to(ROOT).as_posix()
        if not example_blocks(path.read_text("utf-8")):
            continue        # a page without examples (an index, the API reference)
        marks = [pytest.mark.slow] if name in SLOW_PAGES else []
        yield pytest.param(path, id=name, marks=marks)


def test_every_guide_page_has_examples():
    """The user guide, the "coming from" pages and the contracts show tested examples."""
    bare = [path.relative_to(ROOT).as_posix() for folder in EXAMPLE_FOLDERS
            for path in sorted((ROOT / folder).glob("*.md"))
            if path.name != "index.md" and not example_blocks(path.read_text("utf-8"))]
    assert not bare, f"pages without a tested example (```pycon with >>>): {bare}"


@pytest.mark.parametrize("path", list(_params()))
def test_examples(path, tmp_path, monkeypatch):
    """Every example of one page, in order, with its printed output."""
    blocks = example_blocks(path.read_text("utf-8"))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data").symlink_to(ROOT / "tests" / "data", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "COLUMNS": "120", "NO_COLOR": "1"}
    monkeypatch.setenv("COLUMNS", "120")
    globs = {"__name__": f"docs_{path.stem}"}
    report: list[str] = []
    runner = doctest.DocTestRunner(checker=NumberChecker(), optionflags=OPTIONS)
    failures: list[str] = []
    for kind, body, line in blocks:
        if kind == "python":
            _run_python(body, line, path, globs, runner, report)
        else:
            _run_console(body, line, path, env, failures)
    if runner.failures:
        failures.insert(0, "".join(report))
    assert not failures, "\n\n".join(failures)
