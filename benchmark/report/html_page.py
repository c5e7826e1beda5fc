"""leaderboard.html: one self-contained page (figures embedded as data URIs) with the tables and figures.

Every string that comes from records, configs, file names or ids goes through `html.escape`: a model or
image id is data, never markup.
"""
from __future__ import annotations

import base64
import math
import re
from html import escape
from pathlib import Path

from benchmark.metrics import METRICS
from benchmark.report import uncertainty
from benchmark.report.document import FIGURE_TITLES, Report
from benchmark.report.numbers import (
    EFFICIENCY_HEADINGS,
    NOT_APPLICABLE,
    NOT_RECORDED,
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
from benchmark.report.tables import ModelRow, Table

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1500px; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; } td.name, th.name { text-align: left; }
tr.floor td { background: #fff6e0; font-style: italic; } tr.reference td { background: #eaf6ea; font-style: italic; }
tr.baseline td.name { color: #555; } td.best { font-weight: bold; background: #e6f0ff; }
.sig { color: #b00; } table.published td, table.published th { background: #f7f7fb; }
ul.failed li { color: #a00; } figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
.note { color: #555; font-size: 0.9rem; } nav a { margin-right: 1rem; } div.scroll { overflow-x: auto; }
table.sortable th { cursor: pointer; user-select: none; } table.sortable th:hover { background: #e2e2ea; }
th[aria-sort="ascending"]::after { content: " ▲"; font-size: 0.7em; }
th[aria-sort="descending"]::after { content: " ▼"; font-size: 0.7em; }
p.summary { background: #f4f8ff; border-left: 4px solid #4a7bd0; padding: 0.4rem 0.7rem; }
ul.protocol, ul.footnotes { font-size: 0.8rem; color: #444; margin: 0.2rem 0 0.8rem; }
abbr { text-decoration: underline dotted; cursor: help; }
"""

# Click a column heading to sort by it (again: the other direction); the input and target rows stay on top.
# Why a script: the page is one self-contained file, opened from disk, with no server behind it.
# Cells sort by their data-sort number when they have one, else by text; n/a and — go last.
SORT_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('thead th').forEach(function (th, column) {
    th.title = (th.title ? th.title + ' | ' : '') + 'click to sort';
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var pinned = Array.from(body.rows).filter(function (r) { return r.dataset.pinned; });
      var rows = Array.from(body.rows).filter(function (r) { return !r.dataset.pinned; });
      var up = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('thead th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
      function key(row) {
        var cell = row.cells[column];
        var n = parseFloat(cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.replace(/,/g, ''));
        return isNaN(n) ? null : n;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null && y === null) {
          return a.cells[column].textContent.localeCompare(b.cells[column].textContent) * (up ? 1 : -1);
        }
        if (x === null) { return 1; }
        if (y === null) { return -1; }
        return (x - y) * (up ? 1 : -1);
      });
      pinned.concat(rows).forEach(function (r) { body.appendChild(r); });
    });
  });
});
// A link can carry a sort: leaderboard.html?sort=PSNR&order=desc sorts every table by its PSNR column.
(function () {
  var query = new URLSearchParams(location.search), wanted = query.get('sort');
  if (!wanted) { return; }
  document.querySelectorAll('table.sortable thead th').forEach(function (th) {
    if (th.textContent.indexOf(wanted) === 0) {
      th.click();
      if (query.get('order') === 'desc') { th.click(); }
    }
  });
})();
"""


NAME = ' class="name"'


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _tooltip(row: ModelRow, metric: str) -> str:
    parts = []
    ci = row.ci.get(metric)
    if ci:
        parts.append(f"bootstrap 95% CI over units and seeds [{fmt(ci[0], metric)}, {fmt(ci[1], metric)}]")
    p = row.p_vs_best.get(metric)
    if p is not None:
        parts.append(f"Holm-adjusted p vs best = {p:.3g} (per-unit test over units and seeds)")
    return "; ".join(parts)


COLUMN_HELP = {
    "rank": "competition rank by PSNR, then SSIM", "model": "model name (python -m benchmark list models)",
    "kind": "baseline: not trained; learned: trained on the training split", "seeds": "seeds averaged",
    "rank range": "2.5-97.5 % range of the model's rank over hierarchical bootstrap resamples (units, seeds)",
    "units": "independent test cases behind each value (volumes, fields of view or images)",
    "generator params": "parameters of the generator network", "train s": "training seconds (mean over seeds)",
    "GFLOPs / 256² output": "GFLOPs of one prediction with a 256 x 256 output (2 FLOPs per multiply-add)",
    "inference img/s": "test images per second of the trained model on this device (mean over seeds)",
    "peak memory MB": "peak memory of the run: GPU allocator peak, or the run's own resident set (RSS) on CPU",
    "device": "where the runs trained",
}


def _sort_value(value: float) -> str:
    return f' data-sort="{value!r}"' if isinstance(value, float) and math.isfinite(value) else ""


def _th(text: str, help_text: str) -> str:
    css = NAME if text == "model" else ""
    return f'<th{css} title="{escape(help_text)}">{escape(text)}</th>'


def _metric_help(metric: str) -> str:
    m = METRICS[metric]
    return f"{m.title}: {m.better} is better ({m.arrow}). {m.protocol}."


def _main_table(table: Table) -> list[str]:
    metrics = table.metrics
    head = ([_th(h, COLUMN_HELP[h]) for h in ("rank", "rank range", "model", "kind", "seeds", "units")]
            + [_th(heading(m), _metric_help(m)) for m in metrics]
            + [_th(h, COLUMN_HELP[h]) for h in EFFICIENCY_HEADINGS])
    out = ['<div class="scroll"><table class="leaderboard sortable">', "<thead><tr>" + "".join(head)
           + "</tr></thead>", "<tbody>"]
    blank = f"<td>{NOT_APPLICABLE}</td>" * len(EFFICIENCY_HEADINGS)
    out.append('<tr class="floor" data-pinned="1"><td>—</td><td>—</td><td class="name">input</td><td>floor</td>'
               "<td>—</td><td>—</td>"
               + "".join(f"<td{_sort_value(table.input[m][0])}>{fmt(table.input[m][0], m)}</td>" for m in metrics)
               + blank + "</tr>")
    if table.target:
        out.append('<tr class="reference" data-pinned="1"><td>—</td><td>—</td><td class="name">target</td>'
                   "<td>reference</td><td>—</td><td>—</td>"
                   + "".join(f"<td>{fmt(table.target[m][0], m) if m in table.target else '—'}</td>"
                             for m in metrics) + blank + "</tr>")
    for row in table.rows:
        cells = [f"<td>{row.rank}</td>", f'<td class="rank-range">{uncertainty.rank_range_text(row)}</td>',
                 f'<td class="name">{escape(row.model)}</td>', f"<td>{escape(row.group)}</td>",
                 f"<td>{len(row.seeds)}</td>", f"<td>{row.units}</td>"]
        for m in metrics:
            css = ' class="best"' if is_best(table, row, m) else ""
            mark = (f' <span class="sig" title="{escape(SYMBOLS[SIGNIFICANT])}">{SIGNIFICANT}</span>'
                    if row.significant(m) else "")
            cells.append(f'<td{css}{_sort_value(row.values[m][0])} title="{escape(_tooltip(row, m))}" '
                         f'data-ci="{escape(uncertainty.with_interval(row, m))}">'
                         f'<span class="value">{escape(mean_text(row.values[m], m, len(row.seeds)))}</span>'
                         f"{mark}</td>")
        e = row.efficiency
        numbers = [e.get("parameters"), e.get("gflops"), e.get("train_seconds"), e.get("inference_images_per_s"),
                   e.get("peak_memory_mb"), None]
        for text, value in zip(efficiency_cells(row), numbers):
            shown = escape(text)
            if text in (NOT_APPLICABLE, NOT_RECORDED):
                shown = f'<abbr title="{escape(SYMBOLS[text])}">{shown}</abbr>'
                value = None
            cells.append(f"<td{_sort_value(float(value)) if isinstance(value, (int, float)) else ''}>{shown}</td>")
        out.append(f'<tr class="{escape(row.group)}">' + "".join(cells) + "</tr>")
    return out + ["</tbody></table></div>"]


def _table_notes(table: Table) -> list[str]:
    """Next to each table: the protocol of its own metric columns and a footnote for every symbol in it."""
    protocol = "".join(f"<li><strong>{escape(heading(m))}</strong>: {escape(METRICS[m].protocol)}</li>"
                       for m in table.metrics)
    symbols = "".join(f"<li><strong>{escape(k)}</strong>: {escape(v)}</li>" for k, v in SYMBOLS.items())
    return ['<p class="note">How each column is measured:</p>', f'<ul class="protocol">{protocol}</ul>',
            '<p class="note">Symbols (hover a cell or heading for more):</p>', f'<ul class="footnotes">{symbols}</ul>']
def _uncertainty(table: Table) -> list[str]:
    """Unit, seeds and rank stability as notes, the intervals and gaps as two tables (`uncertainty`)."""
    out = [f'<p class="note unit">{escape(uncertainty.unit_line(table))}</p>']
    if uncertainty.seed_note(table):
        out.append(f'<p class="note seeds"><strong>{escape(uncertainty.seed_note(table))}</strong></p>')
    out.append(f'<p class="note stability">{escape(uncertainty.stability_line(table))}</p>')
    for kind, (header, rows) in (("intervals", uncertainty.interval_table(table)),
                                 ("gaps", uncertainty.gap_table(table))):
        out.append(f'<table class="{kind}"><thead><tr>' + "".join(
            f"<th{NAME if i == 0 else ''}>{escape(h)}</th>" for i, h in enumerate(header)) + "</tr></thead><tbody>")
        out += ["<tr>" + "".join(f"<td{NAME if i == 0 else ''}>{escape(c)}</td>" for i, c in enumerate(cells))
                + "</tr>" for cells in rows]
        out.append("</tbody></table>")
    return out + [f'<p class="note">{escape(uncertainty.gap_legend(table))}</p>']


def _breakdowns(table: Table) -> list[str]:
    out = []
    for tag, by_row in table.breakdowns.items():
        levels = sorted({lv for v in by_row.values() for lv in v},
                        key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v))
        metrics = sorted({m for v in by_row.values() for lv in v.values() for m in lv}, key=list(METRICS).index)
        name = escape(tag.replace("_", " "))
        out.append(f"<h3>Per {name} ({escape(' / '.join(heading(m) for m in metrics))})</h3>")
        out.append('<table class="breakdown"><thead><tr><th class="name">model</th>'
                   + "".join(f"<th>{name} {escape(lv)}</th>" for lv in levels) + "</tr></thead><tbody>")
        for row_name, values in by_row.items():
            css = ' class="floor"' if row_name == "input" else ""
            out.append(f'<tr{css}><td class="name">{escape(row_name)}</td>'
                       + "".join(f"<td>{escape(' / '.join(fmt(values.get(lv, {}).get(m), m) for m in metrics))}</td>"
                                 for lv in levels) + "</tr>")
        out.append("</tbody></table>")
    return out


def _blocks(table: Table) -> list[str]:
    """The papers' own evaluations (`benchmark.report.blocks`), one small table each, never ranked."""
    out = []
    for block in table.blocks:
        out.append(f"<h3>{escape(block.title)}</h3>")
        if block.note:
            out.append(f'<p class="note">{escape(block.note)}</p>')
        out.append('<table class="breakdown"><thead><tr><th class="name">model</th>'
                   + "".join(f"<th>{escape(h)}</th>" for h in block.headings) + "</tr></thead><tbody>")
        for name, values in block.rows:
            css = ' class="floor"' if name == "input" else ""
            out.append(f'<tr{css}><td class="name">{escape(name)}</td>'
                       + "".join(f"<td>{escape(fmt(values.get(c), c.split(':')[0].split('/')[-1]))}</td>"
                                 for c in block.columns) + "</tr>")
        out.append("</tbody></table>")
    return out


def _failures(table: Table) -> list[str]:
    if not table.failed:
        return []
    items = "".join(f"<li>{escape(str(r.get('model')))} seed {escape(str(r.get('seed')))} "
                    f"(<code>{escape(str(r.get('run_id')))}</code>): {escape(str(r.get('status')))}: "
                    f"{escape(str(r.get('reason', 'no reason recorded')))}</li>" for r in table.failed)
    return ["<h3>Failed or incomplete runs (no numbers shown)</h3>", f'<ul class="failed">{items}</ul>']


def _published(report: Report, dataset: str) -> list[str]:
    out = []
    for block in for_dataset(report.published, dataset):
        metrics = [m for m in block.get("metrics", []) if m in METRICS]
        out.append("<h3>Reported in the papers (not reproduced here, not ranked)</h3>")
        out.append(f'<p class="note">Source: {escape(citation(block))}.<br>Protocol: '
                   f'{escape(str(block.get("protocol", "see the source")))}.<br>Checked: '
                   f'{escape(str(block.get("checked", "not recorded")))}.</p>')
        out.append('<table class="published"><thead><tr><th class="name">model (paper)</th><th>ours</th>'
                   + "".join(f"<th>{escape(heading(m))}</th>" for m in metrics) + "</tr></thead><tbody>")
        for r in block["rows"]:
            out.append(f'<tr><td class="name">{escape(str(r["model"]))}</td><td>{escape(str(r.get("ours", "—")))}</td>'
                       + "".join(f"<td>{fmt(r.get(m), m)}</td>" for m in metrics) + "</tr>")
        out.append("</tbody></table>")
    return out


def _figures(report: Report, table: Table, root: Path) -> list[str]:
    out = []
    for kind, rel in report.figures.get(table.key, {}).items():
        title = FIGURE_TITLES.get(kind, kind)
        out.append(f'<figure><img src="{_data_uri(root / rel)}" alt="{escape(title)}">'
                   f"<figcaption>{escape(title)} (<code>{escape(rel)}</code>)</figcaption></figure>")
    out += [f'<p class="note">{escape(n)}</p>' for n in report.figure_notes.get(table.key, [])]
    return out


def _unreadable(report: Report) -> list[str]:
    if not report.unreadable:
        return []
    items = "".join(f"<li><code>{escape(u.file)}</code>: {escape(u.reason)}</li>" for u in report.unreadable)
    intro = (f"{len(report.unreadable)} <code>metrics.json</code> file(s) could not be used; "
             "fix or remove them:")
    return [f'<section id="unreadable"><h2>Unreadable run records (not ranked)</h2><p class="note">{intro}</p>',
            f'<ul class="failed">{items}</ul></section>']


def _sweeps(report: Report) -> list[str]:
    if not report.sweeps:
        return []
    out = [('<section id="sweeps"><h2>Sweeps</h2><p class="note">Best trial of each hyperparameter study and the '
            "benchmark runs of its configuration (sweep trials never enter the tables above).</p>"),
           ('<table><thead><tr><th class="name">study</th><th>model</th><th>data</th><th>preset</th>'
            "<th>best trial</th><th>objective</th><th>trial run</th><th>benchmark runs</th></tr></thead><tbody>")]

    def link(path: str) -> str:
        return f'<a href="{escape(path)}">{escape(path)}</a>'

    for s in report.sweeps:
        runs = ", ".join(link(p) for p in s["benchmark_runs"]) or "none yet"
        out.append(f'<tr><td class="name">{escape(s["study"])}</td><td>{escape(s["model"])}</td>'
                   f'<td>{escape(s["data"])}</td><td>{escape(s["preset"])}</td><td>{escape(str(s["trial"]))}</td>'
                   f'<td>{escape(s["objective"])}</td><td>{link(s["trial_run"]) if s["trial_run"] else "—"}</td>'
                   f"<td>{runs}</td></tr>")
    return out + ["</tbody></table></section>"]


def render(report: Report, root: Path) -> str:
    """The page; `root` is the results folder the figure paths are relative to."""
    body = ["<h1>i2i-bench leaderboard</h1>",
            ('<p class="note">Generated by <code>python -m benchmark leaderboard</code> from the run records under '
             "<code>results/runs/</code> only.</p>"),
            f"<p><strong>Runs summarised:</strong> {escape(report.provenance.sentence())}</p>",
            f'<p class="note">{escape(legend().replace("*", ""))}</p>']
    if report.tables:
        body.append(uncertainty.TOGGLE_HTML)
        body.append("<nav>" + "".join(f'<a href="#{slug(t.key)}">{escape(t.dataset)} ({escape(t.preset)})</a>'
                                      for t in report.tables) + '<a href="#protocol">protocol</a></nav>')
    else:
        body.append("<p>No run records yet: run <code>make benchmark MODEL=unet DATA=mri</code>.</p>")
    body += _unreadable(report)
    for table in report.tables:
        where = ("Full-reference metrics inside the dataset's mask." if table.masked else
                 "Full-reference metrics on the whole image." if table.masked is False else "")
        body += [f'<section id="{slug(table.key)}"><h2>{escape(table.dataset)} — preset {escape(table.preset)}</h2>',
                 f'<p class="summary">{escape(summary_line(table))}</p>',
                 f'<p class="note">Data: {escape(", ".join(table.data_sources) or "n/a")}. {escape(where)}</p>']
        body += (_main_table(table) + _table_notes(table) + _uncertainty(table) + _breakdowns(table)
                 + _blocks(table) + _failures(table))
        body += _published(report, table.dataset)
        body += _figures(report, table, root) + ["</section>"]
    body += _sweeps(report)
    body += ['<section id="protocol"><h2>Protocol</h2><ul>'
             + "".join(f"<li>{escape(line)}</li>" for line in protocol_lines()) + "</ul></section>"]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>i2i-bench leaderboard</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SORT_SCRIPT}\n{uncertainty.TOGGLE_SCRIPT}</script>\n</body></html>\n")
