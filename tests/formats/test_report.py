"""The plain-text account of a run."""

from __future__ import annotations

from cargo_overlap.formats.github import step_summary_markdown
from cargo_overlap.formats.report import cache_counts, command_line, summary_text
from cargo_overlap.model.events import CacheOutcome, UnitFinished, UnitStarted
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.summary import build_summary


def model_with(caches: list[CacheOutcome | None]) -> RunModel:
    model = RunModel()
    for i, cache in enumerate(caches):
        uid = f"dep{i}@1.0.0:lib:dep{i}"
        model.apply(
            UnitStarted(
                t=0.1 * i,
                unit=uid,
                package=f"dep{i}",
                version="1.0.0",
                target=f"dep{i}",
                kinds=["lib"],
                mode="build",
                profile="dev",
                primary=False,
            )
        )
        model.apply(UnitFinished(t=1.0, unit=uid, fresh=False, success=True, cache=cache))
    return model


COMMAND = ["/opt/cargo/bin/cargo", "build", "--message-format=json-render-diagnostics"]


def test_sccache_outcomes_are_counted_in_the_report() -> None:
    model = model_with(["hit", "hit", "miss", "uncacheable", None])
    summary = build_summary(model, 0, COMMAND, "stable", 2, 1.0)
    assert cache_counts(summary) == {"hit": 2, "miss": 1, "uncacheable": 1, "unknown": 0}
    assert "sccache: 2 hits, 1 misses, 1 not cacheable" in summary_text(summary)
    # and in GitHub's step summary
    assert "\nsccache: 2 hits, 1 misses, 1 not cacheable.\n" in step_summary_markdown(summary)


def test_no_sccache_line_without_sccache() -> None:
    summary = build_summary(model_with([None, None]), 0, COMMAND, "stable", 2, 1.0)
    assert cache_counts(summary) == {}
    text = summary_text(summary)
    assert "sccache" not in text
    assert "ccache" not in step_summary_markdown(summary)
    assert text.startswith("cargo-overlap: cargo build  (exit 0)")
    assert command_line(COMMAND) == "cargo build"
