"""Analysis: simulate, compare and demo, experiments built on capture and the model."""
