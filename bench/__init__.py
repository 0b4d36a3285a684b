"""Benchmarks: scripts that print figures and their ratio to a floor measured in the same run."""
