"""What a failed run did not do: the units that failed and the artifacts never built."""

from __future__ import annotations

from cargo_overlap.model.run_model import RunModel

_PACKAGE_FLAGS = ("-p", "--package")


def failed_units(model: RunModel) -> list[str]:
    """Units whose rustc (or build script) failed, in the order they started."""
    return [uid for uid in model.order if model.units[uid].success is False]


def named_packages(command: list[str]) -> list[str]:
    """The packages a cargo command line selects with ``-p``/``--package``."""
    out: list[str] = []
    args = iter(command)
    for arg in args:
        if arg in _PACKAGE_FLAGS:
            value = next(args, None)
            if value is not None:
                out.append(value)
        elif arg.startswith("--package="):
            out.append(arg.split("=", 1)[1])
        elif arg.startswith("-p") and len(arg) > 2:
            out.append(arg[2:])
    return out


def not_built(model: RunModel) -> tuple[list[str], list[str]]:
    """What was asked for and not built: (requested units that started but did not finish
    successfully, packages named on the command line that no unit of this run built).

    A package cargo never started has no unit, so only its name from ``-p`` is known.
    """
    unfinished = [uid for uid in model.requested_units() if model.units[uid].success is not True]
    never: list[str] = []
    if model.run is not None:
        primary = {u.package for u in model.units.values() if u.primary}
        never = [p for p in named_packages(model.run.command) if p not in primary]
    return unfinished, never
