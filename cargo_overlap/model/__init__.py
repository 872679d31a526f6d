"""Model: the typed events, the run model folded from them, and the metrics. Pure, no I/O."""
