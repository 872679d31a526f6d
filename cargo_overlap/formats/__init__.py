"""Formats: text summary, traces, GitHub output, baselines and importers of cargo's records."""
