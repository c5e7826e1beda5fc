"""The report renders run records only: no module behind `python -m benchmark leaderboard` imports the model
or dataset registries, so a results folder renders the same on any machine and with any plug-ins installed."""
from __future__ import annotations

import ast
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmark"
REPORT_MODULES = [*sorted((BENCHMARK / "report").glob("*.py")), BENCHMARK / "leaderboard.py",
                  BENCHMARK / "results.py", BENCHMARK / "reference.py"]
FORBIDDEN = ("models", "datamodules", "benchmark.runner", "benchmark.registry", "benchmark.catalogue")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_report_modules_never_import_the_registries() -> None:
    offenders = {path.name: sorted(name for name in _imports(path)
                                   if any(name == f or name.startswith(f + ".") for f in FORBIDDEN))
                 for path in REPORT_MODULES}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(REPORT_MODULES) > 10  # the glob found the package
