"""The package's architecture, enforced: layers, no cycles, no private names
across packages, lint, short files.

References: the contracts in ``.importlinter`` (checked by import-linter on the
import graph of the installed package), ruff's rules in ``pyproject.toml``, and
the rule that a name starting with ``_`` is private to its package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "logitlab"
PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").exists())


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imported_names(path: Path):
    """``(line, target module, name)`` of every ``from logitlab... import name``."""
    module, is_init = _module_name(path)
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = module.split(".") if is_init else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        if target.split(".")[0] == "logitlab":
            for alias in node.names:
                yield node.lineno, target, alias.name


def test_import_contracts_hold():
    """Layers (each package imports only those below it), no import cycles
    between the modules of a package, private modules stay private."""
    out = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command;"
                          "lint_imports_command()", "--config", str(ROOT / ".importlinter")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in out.stdout


def test_no_private_names_are_imported_from_another_module():
    """A name starting with ``_`` is imported only inside its own module, or
    from a private module of the same package (``solvers._common``)."""
    crossing = [f"{path.relative_to(SRC)}:{line}: {target}.{name}"
                for path in SRC.rglob("*.py")
                for line, target, name in _imported_names(path)
                if name.startswith("_") and not name.startswith("__")
                and not (target.split(".")[-1].startswith("_")
                         and _package(target) == _package(_module_name(path)[0]))]
    assert crossing == []


def test_ruff_finds_nothing():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:]


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_stay_short(path):
    assert len(path.read_text().splitlines()) <= 800


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_says_what_it_owns_and_may_import(package):
    doc = ast.get_docstring(ast.parse((SRC / package / "__init__.py").read_text())) or ""
    assert len(doc) > 80, f"logitlab.{package} has no docstring saying what it owns"
    assert "import" in doc.lower(), f"logitlab.{package}'s docstring says nothing of its imports"


def test_public_module_names_are_the_modules_in_subpackages():
    import importlib

    from logitlab.core.aliases import PUBLIC_MODULES
    for public, real in PUBLIC_MODULES.items():
        assert importlib.import_module(public) is importlib.import_module(real)
    from logitlab.metrics import evaluate
    from logitlab.evaluation.metrics import evaluate as real_evaluate
    assert evaluate is real_evaluate


def test_public_modules_are_attributes_of_the_package_in_a_fresh_process():
    """``ll.metrics.accuracy``, ``ll.datasets.load_titanic`` without importing them."""
    import subprocess
    import sys
    code = ("import logitlab as ll; print(ll.datasets.load_titanic().shape, "
            "ll.metrics.accuracy([1, 0], [0.9, 0.2]), ll.io.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["(32,", "5)", "1.0", "logitlab.data.io"]


def test_every_import_of_a_logitlab_module_names_one_that_exists():
    """Function-level imports too (an import run only on an error path must not
    be the one that fails)."""
    import importlib.util
    missing = []
    for path in SRC.rglob("*.py"):
        for line, target, name in _imported_names(path):
            if importlib.util.find_spec(target) is None:
                missing.append(f"{path.relative_to(SRC)}:{line}: {target}")
                continue
            module = importlib.import_module(target)
            if not hasattr(module, name) and importlib.util.find_spec(f"{target}.{name}") is None:
                missing.append(f"{path.relative_to(SRC)}:{line}: {target}.{name}")
    assert missing == []
