"""The layers depend one way: the domain package (`supplychain`) never imports the web layer (`web`).

Workflows, activities, the worker and CLI steps such as `portal demo-orders` use the domain; had it
imported `web`, each of them would load FastAPI, the templates and the routes too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "supplychain"


def _imported_modules(path: Path) -> list[str]:
    """Every module an `import` statement in `path` names, at any depth (function-level ones too)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _is_web(module: str) -> bool:
    return module == "web" or module.startswith("web.")


def test_no_domain_module_has_an_import_of_the_web_layer() -> None:
    modules = sorted(DOMAIN.rglob("*.py"))
    assert len(modules) > 20, "the domain package was not found"
    offenders = {
        str(path.relative_to(ROOT)): [m for m in _imported_modules(path) if _is_web(m)] for path in modules
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_importing_every_domain_module_loads_nothing_of_the_web_layer() -> None:
    # A fresh interpreter: this test process has imported `web` already.
    script = (
        "import importlib, pkgutil, sys\n"
        "import supplychain\n"
        "for info in pkgutil.walk_packages(supplychain.__path__, 'supplychain.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(sorted(m for m in sys.modules if m == 'web' or m.startswith('web.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
