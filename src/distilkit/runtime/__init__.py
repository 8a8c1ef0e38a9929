"""Process-level plumbing every layer may use: multi-process ranks, cache folder, threads."""
