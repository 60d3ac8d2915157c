"""The layering contract (pyproject.toml, [tool.importlinter]) holds, and it catches a new upward import.

This is the CI enforcement of docs/architecture.md ("Layering contract"): ``lint-imports``
(import-linter) runs on the package as it is, and on temporary copies of it with one deliberate
violation each, so a contract that could not fail would fail here. The real tree is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]
# import-linter's own entry point, run with this interpreter (no reliance on PATH)
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())"]


def _lint(tree: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the ``dealloy`` package under ``tree`` (it reads ``tree/pyproject.toml``)."""
    env = dict(os.environ, PYTHONPATH=str(tree))  # this tree's package, not an installed one
    return subprocess.run(LINT + ["--no-cache"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def _copy(tmp_path: Path) -> Path:
    """A copy of the package's Python sources and pyproject.toml (no data files) under tmp_path."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "dealloy", tree / "dealloy",
                    ignore=lambda d, names: [n for n in names if n == "__pycache__"
                                             or (Path(d, n).is_file() and not n.endswith(".py"))])
    shutil.copy(ROOT / "pyproject.toml", tree)
    return tree


def test_the_package_keeps_its_layers():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
    assert "Analyzed 0 files" not in result.stdout


def test_a_copy_of_the_package_keeps_its_layers(tmp_path):
    """The control for the tests below: the copy alone passes, so their failure is the edit's."""
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module, line, message", [
    # a builder reading analysis results: build is below analysis
    ("build/_common.py", "from dealloy.analysis import frame",
     "dealloy.build is not allowed to import dealloy.analysis"),
    # a base module reaching into the engine, inside a function (still an import)
    ("io.py", "def _f():\n    from dealloy.engine import session\n    return session",
     "dealloy.io is not allowed to import dealloy.engine"),
    # the analysis reading the study layer
    ("analysis/frame.py", "import dealloy.study.collect",
     "dealloy.analysis is not allowed to import dealloy.study"),
])
def test_a_new_upward_import_breaks_the_contract(tmp_path, module, line, message):
    tree = _copy(tmp_path)
    path = tree / "dealloy" / module
    path.write_text(path.read_text() + "\n\n" + line + "\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout


def test_a_new_top_level_module_must_be_placed_in_a_layer(tmp_path):
    tree = _copy(tmp_path)
    (tree / "dealloy" / "newthing.py").write_text("X = 1\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "dealloy.newthing" in result.stdout + result.stderr
