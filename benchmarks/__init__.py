"""Benchmarks and the seeded data generator (never part of the default test run)."""
