"""leaderboard.csv: one row per table row (input, target, models) and per breakdown level, tidy columns.

The `protocol` column repeats, per row, the rules its numbers were made under (a CSV has no prose).
"""
from __future__ import annotations

from typing import Any

from benchmark.report.document import Report
from benchmark.report.significance import ALPHA
from benchmark.report.tables import Table


def _protocol(table: Table) -> str:
    where = "inside mask" if table.masked else "whole image"
    return (f"test-set mean per seed, mean/std over seeds; full-reference {where}; data {'+'.join(table.data_sources)}"
            f"; unit of analysis {table.unit}; p_vs_best: per-unit paired Wilcoxon (and hierarchical bootstrap "
            f"over seeds), Holm over models, alpha {ALPHA}; ci95 and diff_ci95: hierarchical bootstrap over units "
            f"and seeds; see LEADERBOARD.md Protocol")


def rows(report: Report) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for table in report.tables:
        base = {"dataset": table.dataset, "preset": table.preset}
        proto = _protocol(table)
        out.append({**base, "model": "input", "kind": "floor", "breakdown": "", "rank": "", "seeds": "",
                    **{f"{m}_mean": table.input[m][0] for m in table.metrics}, "protocol": proto})
        if table.target:
            out.append({**base, "model": "target", "kind": "reference", "breakdown": "", "rank": "", "seeds": "",
                        **{f"{m}_mean": v[0] for m, v in table.target.items()}, "protocol": proto})
        for row in table.rows:
            entry: dict[str, Any] = {**base, "model": row.model, "kind": row.group, "breakdown": "",
                                     "rank": row.rank, "seeds": len(row.seeds), "unit": table.unit,
                                     "units": row.units}
            entry["rank_low"], entry["rank_high"] = row.rank_range or ("", "")
            entry["rank_stability_tau"] = table.ranking.tau_median if table.ranking else ""
            for m in table.metrics:
                entry[f"{m}_mean"], entry[f"{m}_std"] = row.values[m]
                ci = row.ci.get(m)
                entry[f"{m}_ci95_low"], entry[f"{m}_ci95_high"] = ci if ci else ("", "")
                p = row.p_vs_best.get(m)
                entry[f"{m}_p_vs_best"] = "" if p is None else p
                entry[f"{m}_significant"] = row.significant(m)
                test = row.tests.get(m)
                entry[f"{m}_diff_vs_best"] = test.difference if test else ""
                entry[f"{m}_diff_ci95_low"], entry[f"{m}_diff_ci95_high"] = (test.interval if test and test.interval
                                                                             else ("", ""))
                entry[f"{m}_dz_vs_best"] = "" if test is None or test.cohen_dz is None else test.cohen_dz
            e = row.efficiency
            entry.update(parameters=e.get("parameters"), gflops_per_256=e.get("gflops"),
                         train_seconds=e.get("train_seconds"), inference_images_per_s=e.get("inference_images_per_s"),
                         peak_memory_mb=e.get("peak_memory_mb"), memory_kind=e.get("memory_kind"),
                         device=e.get("device"), protocol=proto)
            out.append(entry)
        for tag, by_row in table.breakdowns.items():
            for name, levels in by_row.items():
                for level, values in sorted(levels.items()):
                    out.append({**base, "model": name, "kind": "floor" if name == "input" else "",
                                "breakdown": f"{tag}={level}", "rank": "", "seeds": "",
                                **{f"{m}_mean": v for m, v in values.items()}, "protocol": proto})
        for r in table.failed:
            out.append({**base, "model": r.get("model"), "kind": r.get("status"), "breakdown": "",
                        "rank": "", "seeds": r.get("seed"), "reason": r.get("reason", ""), "protocol": proto})
    for u in report.unreadable:
        out.append({"dataset": "", "preset": "", "model": "", "kind": "unreadable", "breakdown": "", "rank": "",
                    "seeds": "", "reason": f"{u.file}: {u.reason}", "protocol": ""})
    return _aligned(out)


def _aligned(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with every column, in one order: identity, metrics, efficiency, reason, protocol last."""
    columns: list[str] = []
    for row in out:
        columns.extend(k for k in row if k not in columns and k not in ("reason", "protocol"))
    columns += ["reason", "protocol"]
    return [{c: row.get(c, "") for c in columns} for row in out]
