"""Leaderboards built from run records only (never from logger state): `python -m benchmark leaderboard`.

Writes, under the results folder: LEADERBOARD.md, leaderboard.html (self-contained, figures embedded),
leaderboard.csv, leaderboard.tex, and the figures as PNG files under figures/. What a table holds and how
its numbers are made is in `benchmark.report.tables` and stated in every output (`numbers.protocol_lines`).
Regeneration holds a lock so concurrent benchmark processes cannot interleave writes.
"""
from __future__ import annotations

import fcntl
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmark import results
from benchmark.records import atomic_write_text, results_dir, write_csv
from benchmark.report import csv_export, html_page, latex, markdown, published, sweeps
from benchmark.report.document import Report
from benchmark.report.provenance import provenance
from benchmark.report.tables import Table, build_tables, incomplete_runs

FIGURES_DIR = "figures"
OUTPUTS = ("LEADERBOARD.md", "leaderboard.csv", "leaderboard.html", "leaderboard.tex")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def draw_figures(tables: list[Table], root: Path) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """Every figure of every table as figures/<dataset>-<preset>-<kind>.png; stale PNGs removed.

    A figure that cannot be drawn leaves a note instead (the tables never depend on figures)."""
    figures: dict[str, dict[str, str]] = {}
    notes: dict[str, list[str]] = {}
    folder = root / FIGURES_DIR
    try:
        from benchmark.report.plots import FIGURES, Skipped
    except ImportError as exc:  # matplotlib missing: tables still come out
        return {}, {t.key: [f"figures unavailable: {exc}"] for t in tables}
    written: set[Path] = set()
    for table in tables:
        for kind, draw in FIGURES.items():
            path = folder / f"{_file_part(table.key)}-{kind}.png"
            try:
                draw(table, path)
            except Skipped as why:
                notes.setdefault(table.key, []).append(f"{kind} figure: {why}")
                continue
            except Exception as exc:  # noqa: BLE001 -- a plotting bug must not cost the tables
                print(f"warning: leaderboard figure {path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                notes.setdefault(table.key, []).append(f"{kind} figure failed: {type(exc).__name__}: {exc}")
                continue
            written.add(path)
            figures.setdefault(table.key, {})[kind] = f"{FIGURES_DIR}/{path.name}"
    for stale in folder.glob("*.png") if folder.is_dir() else []:
        if stale not in written:
            stale.unlink(missing_ok=True)
    return figures, notes


def build_report(root: Path, figures: bool = True, out: Path | None = None) -> Report:
    """The report of the records under `root`; figures are drawn under `out` (default `root`)."""
    found = results.scan(root)
    records = found.records
    tables = build_tables(records + incomplete_runs(root, records))
    report = Report(tables, provenance(records), published.load(), sweeps.rows(sweeps.summaries(root), root),
                    unreadable=found.unreadable)
    if figures:
        report.figures, report.figure_notes = draw_figures(tables, out or root)
    return report


def generate(root: Path | None = None, figures: bool = True, out: Path | None = None) -> list[Path]:
    """Regenerate the leaderboard files from the records under `root` (default `$RESULTS_DIR`) into `out`
    (default `root`).

    Returns the paths in the order of `OUTPUTS`: Markdown, CSV, HTML, LaTeX."""
    root = root or results_dir()
    out = out or root
    with locked(out / ".leaderboard.lock"):
        report = build_report(root, figures, out)
        paths = [out / name for name in OUTPUTS]
        atomic_write_text(paths[0], markdown.render(report))
        rows: list[dict[str, Any]] = csv_export.rows(report)
        write_csv(paths[1], rows) if rows else atomic_write_text(paths[1], "dataset,preset,model\n")
        atomic_write_text(paths[2], html_page.render(report, out))
        atomic_write_text(paths[3], latex.render(report))
    if report.unreadable:
        print(f"warning: {len(report.unreadable)} run record(s) could not be read; listed in {paths[0]}",
              file=sys.stderr)
    return paths
