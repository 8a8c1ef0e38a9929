"""Models: names -> weights (zoo), loading with one-line errors, and the one student builder."""
