"""Models: loading classifiers, checking teachers, building students."""
