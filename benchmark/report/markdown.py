"""LEADERBOARD.md: the tables, the per-level breakdowns, failures, published numbers, figure links."""
from __future__ import annotations

from benchmark.metrics import METRICS
from benchmark.report import uncertainty
from benchmark.report.document import FIGURE_TITLES, Report
from benchmark.report.numbers import (
    EFFICIENCY_HEADINGS,
    SIGNIFICANT,
    SYMBOLS,
    efficiency_cells,
    fmt,
    heading,
    is_best,
    legend,
    mean_text,
    protocol_lines,
    summary_line,
)
from benchmark.report.published import citation, for_dataset
from benchmark.report.tables import Table


def esc(text: object) -> str:
    """Text from records (model names, ids, reasons) cannot break a table or inject markup."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
            .replace("\n", " "))


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_lines(table: Table) -> list[str]:
    metrics = table.metrics
    header = ["rank", "rank range", "model", "kind", "seeds", "units"] + [heading(m) for m in metrics]
    header += EFFICIENCY_HEADINGS
    lines = [_row(header), "|" + "---|" * len(header)]
    blank = ["—"] * len(EFFICIENCY_HEADINGS)
    lines.append(_row(["—", "—", "*input*", "floor", "—", "—"] + [fmt(table.input[m][0], m) for m in metrics]
                      + blank))
    if table.target:
        lines.append(_row(["—", "—", "*target*", "reference", "—", "—"]
                          + [fmt(table.target[m][0], m) if m in table.target else "—" for m in metrics] + blank))
    for row in table.rows:
        cells = [str(row.rank), uncertainty.rank_range_text(row), esc(row.model), row.group, str(len(row.seeds)),
                 str(row.units)]
        for m in metrics:
            text = mean_text(row.values[m], m, len(row.seeds))
            text = f"**{text}**" if is_best(table, row, m) else text
            cells.append(text + (f" {SIGNIFICANT}" if row.significant(m) else ""))
        lines.append(_row(cells + [esc(c) for c in efficiency_cells(row)]))
    return lines


def uncertainty_lines(table: Table) -> list[str]:
    """Unit, seeds, rank stability, then intervals and gaps to the best model (the footnote style of CIs)."""
    lines = ["", esc(uncertainty.unit_line(table))]
    lines += ["", f"**{esc(uncertainty.seed_note(table))}**"] if uncertainty.seed_note(table) else []
    lines += ["", esc(uncertainty.stability_line(table))]
    for header, rows in (uncertainty.interval_table(table), uncertainty.gap_table(table)):
        lines += ["", _row([esc(h) for h in header]), "|" + "---|" * len(header)]
        lines += [_row([esc(c) for c in cells]) for cells in rows]
    return lines + ["", esc(uncertainty.gap_legend(table))]


def breakdown_lines(table: Table) -> list[str]:
    lines: list[str] = []
    for tag, by_row in table.breakdowns.items():
        levels = sorted({lv for values in by_row.values() for lv in values},
                        key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v))
        metrics = sorted({m for values in by_row.values() for lv in values.values() for m in lv},
                         key=list(METRICS).index)
        label = " / ".join(heading(m) for m in metrics)
        lines += ["", f"Per {esc(tag.replace('_', ' '))} ({label}):", ""]
        header = ["model"] + [f"{esc(tag.replace('_', ' '))} {esc(lv)}" for lv in levels]
        lines += [_row(header), "|" + "---|" * len(header)]
        for name, values in by_row.items():
            shown = "*input*" if name == "input" else esc(name)
            cells = [" / ".join(fmt(values.get(lv, {}).get(m), m) for m in metrics) for lv in levels]
            lines.append(_row([shown] + cells))
    return lines


def block_lines(table: Table) -> list[str]:
    """The papers' own evaluations (`benchmark.report.blocks`), one small table each, never ranked."""
    lines: list[str] = []
    for block in table.blocks:
        lines += ["", f"{esc(block.title)}" + (f" ({esc(block.note)})" if block.note else "") + ":", ""]
        lines += [_row(["model", *[esc(h) for h in block.headings]]), "|" + "---|" * (len(block.columns) + 1)]
        for name, values in block.rows:
            shown = "*input*" if name == "input" else esc(name)
            lines.append(_row([shown, *[fmt(values.get(c), c.split(":")[0].split("/")[-1]) for c in block.columns]]))
    return lines


def failure_lines(table: Table) -> list[str]:
    if not table.failed:
        return []
    lines = ["", "Failed or incomplete runs (no numbers shown):", ""]
    for r in table.failed:
        lines.append(f"- {esc(r.get('model'))} seed {esc(r.get('seed'))} ({esc(r.get('run_id'))}): "
                     f"{esc(r.get('status'))}: {esc(r.get('reason', 'no reason recorded'))}")
    return lines


def published_lines(report: Report, dataset: str) -> list[str]:
    lines: list[str] = []
    for block in for_dataset(report.published, dataset):
        metrics = [m for m in block.get("metrics", []) if m in METRICS]
        lines += ["", (f"Reported in the papers (not reproduced here, not ranked): {esc(citation(block))}. "
                       f"Protocol: {esc(block.get('protocol', 'see the source'))}. "
                       f"Checked: {esc(block.get('checked', 'not recorded'))}."), ""]
        header = ["model (paper)", "ours"] + [heading(m) for m in metrics]
        lines += [_row(header), "|" + "---|" * len(header)]
        for r in block["rows"]:
            lines.append(_row([esc(r["model"]), esc(r.get("ours", "—"))] + [fmt(r.get(m), m) for m in metrics]))
    return lines


def figure_lines(report: Report, table: Table) -> list[str]:
    figures = report.figures.get(table.key, {})
    lines = [f"- [{FIGURE_TITLES.get(kind, kind)}]({path})" for kind, path in figures.items()]
    lines += [f"- {esc(note)}" for note in report.figure_notes.get(table.key, [])]
    return ["", "Figures (also in `leaderboard.html`):", ""] + lines if lines else []


def unreadable_lines(report: Report) -> list[str]:
    if not report.unreadable:
        return []
    lines = ["## Unreadable run records (not ranked)", "",
             f"{len(report.unreadable)} `metrics.json` file(s) could not be used; fix or remove them:", ""]
    return lines + [f"- `{esc(u.file)}`: {esc(u.reason)}" for u in report.unreadable] + [""]


def sweep_lines(report: Report) -> list[str]:
    if not report.sweeps:
        return []
    lines = ["## Sweeps", "", ("Best trial of each hyperparameter study, and the benchmark runs of its "
                               "configuration (sweep trials themselves never enter the tables above)."), "",
             _row(["study", "model", "data", "preset", "best trial", "objective", "trial run", "benchmark runs"]),
             "|" + "---|" * 8]
    for s in report.sweeps:
        trial_run = f"[{esc(s['trial_run'])}]({s['trial_run']})" if s["trial_run"] else "—"
        runs = ", ".join(f"[{esc(p)}]({p})" for p in s["benchmark_runs"]) or "none yet"
        lines.append(_row([esc(s["study"]), esc(s["model"]), esc(s["data"]), esc(s["preset"]),
                           esc(s["trial"]), esc(s["objective"]), trial_run, runs]))
    return lines + [""]


def render(report: Report) -> str:
    lines = ["# i2i-bench leaderboard", "",
             ("Generated by `python -m benchmark leaderboard` (`make leaderboard`) from the run records under "
              "`results/runs/` only. The same content with figures: `leaderboard.html`; machine-readable: "
              "`leaderboard.csv`; for papers: `leaderboard.tex`."), "",
             f"**Runs summarised:** {esc(report.provenance.sentence())}", "", legend(), "",
             "Symbols: " + "; ".join(f"{k}: {v}" for k, v in SYMBOLS.items()) + ".", ""]
    lines += unreadable_lines(report)
    if not report.tables:
        lines += ["No run records yet: run `make benchmark MODEL=unet DATA=mri`.", ""]
    for table in report.tables:
        lines += [f"## {esc(table.dataset)} — preset `{esc(table.preset)}`", "",
                  f"Data: {esc(', '.join(table.data_sources) or 'n/a')}. "
                  + ("Full-reference metrics inside the dataset's mask." if table.masked else
                     "Full-reference metrics on the whole image." if table.masked is False else ""), ""]
        lines += [f"**Summary:** {esc(summary_line(table))}", ""]
        lines += (table_lines(table) + uncertainty_lines(table) + breakdown_lines(table) + block_lines(table)
                  + failure_lines(table))
        lines += published_lines(report, table.dataset) + figure_lines(report, table) + [""]
    lines += sweep_lines(report)
    lines += ["## Protocol", ""] + [f"- {line}" for line in protocol_lines()]
    return "\n".join(lines) + "\n"
