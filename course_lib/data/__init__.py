"""Data sets: one module per data set, each with a real-format reader and a
synthetic writer producing the same on-disk format."""
