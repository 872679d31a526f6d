"""Which rows the timeline shows, in which order."""

from __future__ import annotations

from collections.abc import Sequence

from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.rows import Labeller, Row, RowLayout, SortKey, group_title, unit_label

from .conftest import stream


def build_rows(
    model: RunModel,
    *,
    sort: SortKey = "start",
    needle: str = "",
    collapsed: frozenset[str] = frozenset(),
    now: float | None = None,
    label: Labeller = unit_label,
    requested: Sequence[str] | None = None,
) -> list[Row]:
    """The unit layout's rows for ``model`` under the given view options, laid out once
    (the app keeps one RowLayout and adds to it as units arrive)."""
    layout = RowLayout(
        sort=sort,
        needle=needle,
        collapsed=collapsed,
        label=label,
        requested=model.requested_units() if requested is None else requested,
    )
    layout.add(model, model.now if now is None else now)
    return layout.rows()


def finished_model() -> RunModel:
    return RunModel.from_events(stream("finished"))


def test_requested_artifacts_come_first_then_the_overlap_band() -> None:
    model = finished_model()
    rows = build_rows(model)
    requested = model.requested_units()
    assert len(requested) == 3
    assert (rows[0].kind, rows[0].key) == ("group", "requested")
    assert [r.key for r in rows[1:4]] == requested
    assert rows[4].kind == "overlap"
    # Every unit appears exactly once.
    assert sorted(r.key for r in rows if r.kind == "unit") == sorted(model.units)


def test_groups_hold_the_right_units() -> None:
    model = finished_model()
    rows = build_rows(model)
    current = ""
    groups: dict[str, list[str]] = {}
    for row in rows:
        if row.kind == "group":
            current = row.key
        elif row.kind == "unit":
            groups.setdefault(current, []).append(row.key)
    assert set(groups) == {"requested", "workspace", "deps", "build-scripts"}
    assert all(model.units[u].mode.endswith("build-script") for u in groups["build-scripts"])
    assert all(model.units[u].primary for u in groups["workspace"])
    assert not any(model.units[u].primary for u in groups["deps"])


def test_collapsed_group_keeps_its_header_and_span() -> None:
    model = finished_model()
    rows = build_rows(model, collapsed=frozenset({"deps"}))
    header = next(r for r in rows if r.key == "deps")
    assert header.collapsed and header.size == 4
    assert header.span_start is not None and header.span_end is not None
    deps = [u.unit for u in model.units.values() if not u.primary and u.mode == "build"]
    assert not any(r.key in deps for r in rows)


def test_filter_is_case_insensitive_and_hides_the_band() -> None:
    model = finished_model()
    rows = build_rows(model, needle="PLUGIN")
    units = [r.key for r in rows if r.kind == "unit"]
    assert units and all("plugin" in unit_label(model.units[u]) for u in units)
    assert not any(r.kind == "overlap" for r in rows)
    assert build_rows(model, needle="no-such-crate") == []


def test_sort_by_duration_and_name() -> None:
    model = finished_model()
    now = model.now

    def deps_in(rows: list[Row]) -> list[str]:
        """The units of the dependencies group, in row order."""
        out: list[str] = []
        group = ""
        for row in rows:
            if row.kind == "group":
                group = row.key
            elif row.kind == "unit" and group == "deps":
                out.append(row.key)
        return out

    by_duration = deps_in(build_rows(model, sort="duration"))
    durations = [model.units[u].duration(now) for u in by_duration]
    assert durations == sorted(durations, reverse=True)
    by_name = deps_in(build_rows(model, sort="name"))
    assert [unit_label(model.units[u]) for u in by_name] == sorted(
        unit_label(model.units[u]) for u in by_name
    )


def test_labels() -> None:
    model = finished_model()
    labels = {unit_label(u) for u in model.units.values()}
    assert {"heph (bin)", "plugin-a (cdylib)", "heph", "shared-000 build.rs"} <= labels
    assert "shared-000 build.rs run" in labels


def test_group_titles_are_whole_when_they_fit_and_short_when_not() -> None:
    assert group_title("requested", 3, False, 33) == "▾ Requested artifacts (3)"
    assert group_title("requested", 3, False, 19) == "▾ Requested (3)"
    assert group_title("build-scripts", 12, True, 19) == "▸ build.rs (12)"
    for gid in ("requested", "workspace", "deps", "build-scripts"):
        for size in (1, 99, 99_999):
            assert len(group_title(gid, size, False, 13)) <= 13
