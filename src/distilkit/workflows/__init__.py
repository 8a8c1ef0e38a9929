"""Workflows: what chains several commands (the demo; the size ladder). Commands never import each other; workflows may."""
