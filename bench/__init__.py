"""Benchmarks of a real identity_service (`make bench`).

Each benchmark starts the server as a subprocess on a fresh SQLite file,
measures it from other processes, and reports ratios measured within one
run against its targets, because the machines are small and noisy: an
absolute number means little, a ratio of two phases of the same run does."""
