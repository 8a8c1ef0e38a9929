"""HTML + Markdown reports of finished runs: the data they read, their plots, the document."""
