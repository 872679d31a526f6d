"""Where the UI gets run figures from: the summary event, or the orchestrator's metrics."""

from __future__ import annotations

from cargo_overlap.model.events import Metrics
from cargo_overlap.model.metrics import compute_metrics
from cargo_overlap.model.run_model import RunModel


def metrics_for(model: RunModel) -> Metrics:
    """The run's metrics: the recorded summary's when there is one, else computed now."""
    if model.summary is not None:
        return model.summary.metrics
    return compute_metrics(model)
