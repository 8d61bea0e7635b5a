"""Benchmark scripts (not tests): they report figures for the notes."""
