"""Helpers for tests and benchmarks: synthetic contaminants injected into images."""
