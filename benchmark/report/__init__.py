"""The leaderboard's building blocks, one concept per module (`benchmark.leaderboard` puts them together).

tables        records -> one table per dataset and preset (aggregation over seeds, ranks, significance)
per_image     per-image values of a run, averaged over seeds for pairing
significance  paired Wilcoxon signed-rank, Holm-Bonferroni, bootstrap intervals
samples       the test predictions a run keeps for the report's figures (samples.npz)
plots         matplotlib figures: sample grid with zoom, line profiles, bars, training curves, quality/compute
provenance    machine and total run time of the summarised records
published     numbers reported in the papers (published.yaml), shown apart from the ranking
sweeps        the optional "Sweeps" section (sweeps.report, when installed)
markdown, html_page, latex, csv_export: the four output formats
"""
