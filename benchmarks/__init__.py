"""Synthetic data and throughput benchmarks (not shipped with the package)."""
