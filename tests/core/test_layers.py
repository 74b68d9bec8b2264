"""lookervault_core is a plain library: it must never import dagster."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "lookervault_core"


def test_no_module_in_core_imports_dagster() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(CORE)}: {n}" for n in names if n.split(".")[0].startswith("dagster")]
    assert offenders == []


def test_importing_core_loads_no_dagster_module() -> None:
    code = (
        "import sys, lookervault_core, lookervault_core.restore, lookervault_core.backup, "
        "lookervault_core.looker, lookervault_core.testing.fake_looker;"
        "print(sorted(m for m in sys.modules if m.startswith('dagster')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
