"""Painting a unit's bar into cells."""

from __future__ import annotations

from cargo_overlap.model.events import (
    CacheOutcome,
    PhaseFinished,
    PhaseStarted,
    RmetaReady,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui import bars
from cargo_overlap.tui.scale import TimeScale

SCALE = TimeScale(0.0, 10.0, 10, 0)  # one cell per second


def unit_model(
    *, fresh: bool = False, success: bool = True, cache: CacheOutcome | None = None
) -> RunModel:
    model = RunModel()
    model.apply(
        UnitStarted(
            t=1.0,
            unit="u",
            package="p",
            version="1",
            target="p",
            kinds=["bin"],
            mode="build",
            profile="dev",
            primary=True,
            fresh=fresh,
        )
    )
    if not fresh:
        model.apply(PhaseStarted(t=1.0, unit="u", phase="frontend"))
        model.apply(PhaseFinished(t=3.0, unit="u", phase="frontend"))
        model.apply(RmetaReady(t=3.0, unit="u", path="libp.rmeta"))
        model.apply(PhaseStarted(t=3.0, unit="u", phase="codegen"))
        model.apply(PhaseFinished(t=6.0, unit="u", phase="codegen"))
        model.apply(PhaseStarted(t=6.0, unit="u", phase="link"))
        model.apply(PhaseFinished(t=8.0, unit="u", phase="link"))
    model.apply(
        UnitFinished(
            t=8.0 if not fresh else 1.0, unit="u", fresh=fresh, success=success, cache=cache
        )
    )
    return model


def test_phases_fill_their_cells_and_rmeta_is_marked() -> None:
    model = unit_model()
    cells = bars.Cells(10)
    bars.paint_unit(cells, model.units["u"], SCALE, model.now)
    F, C, L, E = bars.FRONTEND, bars.CODEGEN, bars.LINK, bars.EMPTY
    assert cells.codes == [E, F, F, C, C, C, L, L, E, E]
    assert cells.marks[3] == bars.RMETA_MARK


def test_an_sccache_hit_is_one_cached_bar_without_phases() -> None:
    model = unit_model(cache="hit")
    cells = bars.Cells(10)
    bars.paint_unit(cells, model.units["u"], SCALE, model.now)
    E, K = bars.EMPTY, bars.CACHED
    assert cells.codes == [E, K, K, K, K, K, K, K, E, E]
    assert bars.RMETA_MARK not in cells.marks
    # a miss was really compiled: its phases are drawn as usual
    missed = unit_model(cache="miss")
    cells = bars.Cells(10)
    bars.paint_unit(cells, missed.units["u"], SCALE, missed.now)
    assert bars.CODEGEN in cells.codes


def test_a_running_unit_grows_to_now() -> None:
    model = RunModel()
    model.apply(
        UnitStarted(
            t=0.0,
            unit="u",
            package="p",
            version="1",
            target="p",
            kinds=["lib"],
            mode="build",
            profile="dev",
            primary=False,
        )
    )
    model.apply(PhaseStarted(t=0.0, unit="u", phase="frontend"))
    cells = bars.Cells(10)
    bars.paint_unit(cells, model.units["u"], SCALE, now=4.0)
    assert cells.codes[:4] == [bars.FRONTEND] * 4
    assert cells.codes[4:] == [bars.EMPTY] * 6


def test_failed_and_fresh_units_look_different() -> None:
    failed = unit_model(success=False)
    cells = bars.Cells(10)
    bars.paint_unit(cells, failed.units["u"], SCALE, failed.now)
    assert set(cells.codes[1:8]) == {bars.FAILED}
    fresh = unit_model(fresh=True)
    cells = bars.Cells(10)
    bars.paint_unit(cells, fresh.units["u"], SCALE, fresh.now)
    assert cells.codes.count(bars.FRESH) == 1


def test_segments_merge_runs_of_equal_cells() -> None:
    model = unit_model()
    cells = bars.Cells(10)
    bars.paint_unit(cells, model.units["u"], SCALE, model.now)
    segments = bars.to_segments(cells)
    assert "".join(s.text for s in segments) == " " * 3 + bars.RMETA_MARK + " " * 6
    # empty, frontend, rmeta mark, codegen rest, link, empty
    assert len(segments) == 6


def test_overlap_band_levels() -> None:
    cells = bars.Cells(10)
    bars.paint_series(cells, [(1.0, 1), (3.0, 2), (5.0, 1), (7.0, 0)], SCALE, end=10.0)
    one, many, empty = bars.OVERLAP_ONE, bars.OVERLAP_MANY, bars.EMPTY
    assert cells.codes == [empty, one, one, many, many, one, one, empty, empty, empty]


def _label_text(cells: bars.Cells) -> str:
    return "".join(
        m if m and m not in (bars.RMETA_MARK, bars.EDGE_MARK) else " " for m in cells.marks
    )


def test_a_slot_label_goes_around_the_rmeta_tick_when_a_stretch_holds_it() -> None:
    cells = bars.Cells(30)
    cells.fill(0, 30, bars.CODEGEN)
    cells.marks[0] = bars.EDGE_MARK
    cells.marks[4] = bars.RMETA_MARK
    bars.write_label(cells, 0, 30, "serde-json")
    assert "serde-json" in _label_text(cells)
    assert cells.marks[4] == bars.RMETA_MARK


def test_a_slot_label_with_no_free_stretch_hides_the_tick_not_its_letters() -> None:
    cells = bars.Cells(14)
    cells.marks[0] = bars.EDGE_MARK
    cells.marks[6] = bars.RMETA_MARK
    bars.write_label(cells, 0, 14, "heph-core")
    assert "".join(cells.marks[1:10]) == "heph-core"
    assert bars.RMETA_MARK not in cells.marks


def test_a_long_slot_label_is_cut_with_an_ellipsis_and_no_tick_inside() -> None:
    cells = bars.Cells(12)
    cells.marks[5] = bars.RMETA_MARK
    bars.write_label(cells, 0, 12, "plugin-gha-cdylib (cdylib)")
    assert "".join(cells.marks[1:11]) == "plugin-gh…"
