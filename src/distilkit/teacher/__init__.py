"""The teacher: loading by name, fingerprints, checks, the on-disk output cache, soft targets, and the
plan of where a student's targets come from (cached logits, online layers, an ensemble)."""
