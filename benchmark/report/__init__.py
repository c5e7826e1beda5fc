"""The leaderboard's building blocks, one concept per module (`benchmark.leaderboard` puts them together).

tables        records -> one table per dataset and preset (aggregation over seeds, ranks, significance)
per_image     per-image values of a run, keyed by seed and image id
units         per-unit values (volume, field of view, image) and the unit of a table
ranking       paired tests over units and seeds, hierarchical bootstrap, rank distributions, Kendall's tau
table_stats   what the statistics add to a table's rows (intervals, tests, effect sizes, rank ranges)
uncertainty   the wording and cells of the statistics, shared by the output formats
significance  Wilcoxon signed-rank and Holm-Bonferroni, the building blocks of `ranking`
samples       the test predictions a run keeps for the report's figures (samples.npz)
plots         matplotlib figures: sample grid with zoom, line profiles, bars, training curves, quality/compute
plots_ranking the rank-probability (blob) figure and the pairwise significance map
provenance    machine and total run time of the summarised records
published     numbers reported in the papers (published.yaml), shown apart from the ranking
sweeps        the optional "Sweeps" section (sweeps.report, when installed)
markdown, html_page, latex, csv_export: the four output formats
"""
