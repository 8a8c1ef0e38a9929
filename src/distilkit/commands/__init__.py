"""One module per command: each takes its config, returns a result, prints nothing (the CLI prints)."""
