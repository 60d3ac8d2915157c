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

# a plain import: import-linter is in the `test` extra, and a missing linter must fail the suite
# (an importorskip would let the CI gate pass silently)
import importlinter  # noqa: F401,E402

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
    # geometry reaching up to the melt-quench builders (build/ stays geometry-only)
    ("build/crystal.py", "from dealloy.builders import amorphous",
     "dealloy.build is not allowed to import dealloy.builders"),
    # the bottom LAMMPS layer reaching into the engine
    ("lammps/session.py", "from dealloy.engine import run",
     "dealloy.lammps is not allowed to import dealloy.engine"),
    # an MD workflow pulled back under the analysis
    ("analysis/diffusivity.py", "from dealloy.potentials import diffusivity",
     "dealloy.analysis is not allowed to import dealloy.potentials"),
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


# ---- imports of dealloy's own modules inside functions ----------------------------------------
#: the marker that explains an import of dealloy inside a function, on its line or the line above
DEFERRED = "# deferred:"


def _dealloy_import(node) -> bool:
    import ast

    if isinstance(node, ast.Import):
        return any(a.name == "dealloy" or a.name.startswith("dealloy.") for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "dealloy"
    return False


def unexplained_inner_imports(source: str, name: str = "<string>") -> list[str]:
    """``name:line`` of every import of a dealloy module that is not at module level and carries
    no ``# deferred: <why>`` comment (on its line or the line above), and of every import of
    dealloy guarded by ``except ImportError`` (dealloy's own modules are always there)."""
    import ast

    lines = source.splitlines()
    tree = ast.parse(source)
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    inner = {id(n) for s in ast.walk(tree) if isinstance(s, scopes) for n in ast.walk(s)}
    out = []
    for node in ast.walk(tree):
        if _dealloy_import(node) and id(node) in inner:
            here = lines[node.lineno - 1]
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            if DEFERRED not in here and not above.startswith(DEFERRED):
                out.append(f"{name}:{node.lineno}: {here.strip()}")
        if isinstance(node, ast.Try) and any(_dealloy_import(n) for b in node.body
                                             for n in ast.walk(b)):
            for h in node.handlers:
                caught = [h.type] if not isinstance(h.type, ast.Tuple) else h.type.elts
                if any(isinstance(c, ast.Name) and c.id in ("ImportError", "ModuleNotFoundError")
                       for c in caught):
                    out.append(f"{name}:{h.lineno}: except ImportError around a dealloy import")
    return out


def test_no_unexplained_imports_of_dealloy_inside_functions():
    """An import of dealloy inside a function hides a dependency from the layering contract's
    reader and usually a cycle: import at the top, unless it defers a heavy optional dependency
    (matplotlib, numba) or breaks a cycle, which its ``# deferred: <why>`` comment then says."""
    found = []
    for path in sorted((ROOT / "dealloy").rglob("*.py")):
        found += unexplained_inner_imports(path.read_text(), str(path.relative_to(ROOT)))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("source, n", [
    ("def f():\n    from dealloy.io import rank\n    return rank\n", 1),
    ("def f():\n    import dealloy.io\n", 1),
    ("class A:\n    def f(self):\n        from . import io\n", 1),
    ("try:\n    from dealloy.analysis import run\nexcept ImportError:\n    run = None\n", 1),
    ("def f():\n    from dealloy.io import rank  # deferred: a reason\n", 0),
    ("def f():\n    # deferred: a reason\n    from dealloy.io import (rank,\n        mpi_comm)\n", 0),
    ("from dealloy.io import rank\n\ndef f():\n    import numpy\n", 0),
])
def test_the_inner_import_check_can_fail(source, n):
    assert len(unexplained_inner_imports(source)) == n
