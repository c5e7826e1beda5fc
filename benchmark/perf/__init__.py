"""Performance benchmarks: scripts that time hot paths and print one JSON line per measurement."""
