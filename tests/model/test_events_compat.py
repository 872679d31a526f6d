"""Fields added to schema 1 keep older recordings readable, and the model keeps them."""

from __future__ import annotations

from cargo_overlap.model.events import (
    Diagnostic,
    ScriptOutput,
    UnitFinished,
    UnitStarted,
    decode_event,
    encode_event,
)
from cargo_overlap.model.run_model import RunModel

OLD_DIAGNOSTIC = (
    b'{"event":"diagnostic","t":1.0,"unit":"a@0.1.0:lib:a","level":"warning",'
    b'"message":"m","rendered":"warning: m"}'
)
OLD_FINISH = (
    b'{"event":"unit-finished","t":1.0,"unit":"a@0.1.0:build-script-run","fresh":false,'
    b'"success":true}'
)


def test_events_written_before_cached_and_script_output_still_decode() -> None:
    d = decode_event(OLD_DIAGNOSTIC)
    assert isinstance(d, Diagnostic) and d.cached is False
    f = decode_event(OLD_FINISH)
    assert isinstance(f, UnitFinished) and f.script_output is None


def test_script_output_round_trips_and_lands_on_the_unit() -> None:
    out = ScriptOutput(stdout="cargo:rustc-cfg=x", stderr="", stdout_bytes=18, stderr_bytes=0)
    started = UnitStarted(
        t=0.5,
        unit="a@0.1.0:build-script-run",
        package="a",
        version="0.1.0",
        target="build-script-run",
        kinds=["run-build-script"],
        mode="run-build-script",
        profile="",
        primary=False,
    )
    finished = UnitFinished(t=1.0, unit=started.unit, fresh=False, success=True, script_output=out)
    assert decode_event(encode_event(finished)) == finished
    model = RunModel.from_events([started, finished])
    assert model.units[started.unit].script_output == out
