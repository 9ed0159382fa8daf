"""What the tests and the benchmarks both build: one envelope builder per event type, fuzzed bodies."""
