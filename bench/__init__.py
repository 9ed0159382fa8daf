"""Benchmarks: run by hand or `make bench`; they print figures and never assert on time."""
