"""Process-level plumbing every layer may use: multi-process ranks, run provenance, cache folder, threads."""
