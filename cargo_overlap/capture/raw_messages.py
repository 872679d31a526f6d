"""Decoders for what arrives from outside: cargo's JSON lines and the shim's datagrams.

Only the fields cargo-overlap uses are declared; msgspec skips the rest without building
objects for them, which is what makes parsing fast. Every decoder raises
:class:`MalformedMessage` on input it cannot use, never anything else.
"""

from __future__ import annotations

import msgspec

MAX_LINE = 16 * 1024 * 1024


class MalformedMessage(Exception):
    """A line or datagram that is not what the decoder expects."""


# --- cargo's stdout (--message-format=json-render-diagnostics) -----------------------------


class CargoTarget(msgspec.Struct, frozen=True, gc=False):
    """`target` of a cargo message."""

    name: str
    kind: list[str]
    crate_types: list[str] = []


class CargoProfile(msgspec.Struct, frozen=True, gc=False):
    """`profile` of a compiler-artifact message."""

    opt_level: str = "0"
    test: bool = False


class CompilerArtifact(
    msgspec.Struct, frozen=True, gc=False, tag_field="reason", tag="compiler-artifact"
):
    """cargo finished a unit (or found it fresh)."""

    package_id: str
    target: CargoTarget
    profile: CargoProfile
    filenames: list[str]
    fresh: bool
    executable: str | None = None
    features: list[str] | None = None


class BuildScriptExecuted(
    msgspec.Struct, frozen=True, gc=False, tag_field="reason", tag="build-script-executed"
):
    """A build script finished running."""

    package_id: str
    out_dir: str = ""


class CargoBuildFinished(
    msgspec.Struct, frozen=True, gc=False, tag_field="reason", tag="build-finished"
):
    """cargo's last message."""

    success: bool


CargoMessage = CompilerArtifact | BuildScriptExecuted | CargoBuildFinished

_cargo_decoder: msgspec.json.Decoder[CargoMessage] = msgspec.json.Decoder(CargoMessage)


class _Reason(msgspec.Struct):
    reason: str


_reason_decoder = msgspec.json.Decoder(_Reason)


def decode_cargo_line(line: bytes) -> CargoMessage | None:
    """Decode one line of cargo's stdout.

    Returns None for a well-formed message of a kind cargo-overlap does not use (cargo adds
    reasons over time); raises :class:`MalformedMessage` for anything else.
    """
    if len(line) > MAX_LINE:
        raise MalformedMessage(f"line of {len(line)} bytes is over the {MAX_LINE}-byte limit")
    try:
        return _cargo_decoder.decode(line)
    except msgspec.ValidationError as exc:
        try:
            _reason_decoder.decode(line)
        except msgspec.MsgspecError:
            raise MalformedMessage(str(exc)) from None
        if b'"reason":"compiler-artifact"' in line:
            raise MalformedMessage(str(exc)) from None
        return None
    except msgspec.DecodeError as exc:
        raise MalformedMessage(str(exc)) from None


def parse_package_id(package_id: str) -> tuple[str, str]:
    """(name, version) of a cargo package id, old or new format.

    New: ``path+file:///w/core#0.1.0`` (the name is the last path segment) or
    ``registry+https://...#serde@1.0.152``; old: ``serde 1.0.152 (registry+...)``.
    """
    if "#" in package_id:
        url, frag = package_id.rsplit("#", 1)
        if "@" in frag:
            name, version = frag.rsplit("@", 1)
            return name, version
        name = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        return name, frag
    parts = package_id.split(" ")
    if len(parts) >= 2:
        return parts[0], parts[1]
    return package_id, ""


# --- the shim's datagrams ---------------------------------------------------------------


class DiagnosticCode(msgspec.Struct, frozen=True, gc=False):
    """rustc's error or lint code."""

    code: str


class DiagnosticSpan(msgspec.Struct, frozen=True, gc=False):
    """Where a diagnostic points."""

    file_name: str
    line_start: int
    column_start: int
    is_primary: bool = False


class RustcDiagnostic(
    msgspec.Struct, frozen=True, gc=False, tag_field="$message_type", tag="diagnostic"
):
    """A diagnostic rustc printed as JSON; ``rendered`` has rustc's ANSI colours."""

    message: str
    level: str
    rendered: str | None = None
    code: DiagnosticCode | None = None
    spans: list[DiagnosticSpan] = []


class RustcArtifact(
    msgspec.Struct, frozen=True, gc=False, tag_field="$message_type", tag="artifact"
):
    """rustc wrote an output file (`emit`: metadata, link, dep-info)."""

    artifact: str
    emit: str


class SectionTiming(
    msgspec.Struct, frozen=True, gc=False, tag_field="$message_type", tag="section_timing"
):
    """A nightly rustc section edge; ``timestamp`` is microseconds since rustc started."""

    name: str
    event: str
    timestamp: int


class ShimStart(msgspec.Struct, frozen=True, gc=False, tag_field="e", tag="start"):
    """The shim spawned rustc for a unit; ``t`` is wall-clock nanoseconds."""

    u: int
    t: int
    pid: int
    pkg: str
    ver: str
    dir: str
    crate: str
    primary: bool
    args: list[str]
    bin: str = ""


class ShimLine(msgspec.Struct, frozen=True, gc=False, tag_field="e", tag="msg"):
    """An artifact, section-timing or diagnostic line rustc printed."""

    u: int
    t: int
    m: RustcArtifact | SectionTiming | RustcDiagnostic


class ShimCodegen(msgspec.Struct, frozen=True, gc=False, tag_field="e", tag="codegen"):
    """rustc started its codegen coordinator thread."""

    u: int
    t: int


class ShimLink(msgspec.Struct, frozen=True, gc=False, tag_field="e", tag="link"):
    """The linker shim started or ended the real linker."""

    u: int
    t: int
    edge: str


class ShimEnd(msgspec.Struct, frozen=True, gc=False, tag_field="e", tag="end"):
    """rustc exited; ``code`` is negative for a signal; ``cpu_us`` from its rusage.

    ``cache`` is sccache's answer when the user's wrapper is sccache: ``hit``, ``miss`` or
    ``uncacheable``, as the shim saw it in /proc (no rustc ran, one ran under the sccache
    server, or one ran under the wrapper itself); empty when unknown.
    """

    u: int
    t: int
    code: int
    cpu_us: int
    maxrss_kb: int = 0
    cache: str = ""


class ShimLost(msgspec.Struct, frozen=True, gc=False, tag_field="e", tag="lost"):
    """A message too large for one datagram was not sent."""

    u: int
    t: int
    bytes: int


ShimMessage = ShimStart | ShimLine | ShimCodegen | ShimLink | ShimEnd | ShimLost

_shim_decoder: msgspec.json.Decoder[ShimMessage] = msgspec.json.Decoder(ShimMessage)


def decode_shim_datagram(data: bytes) -> ShimMessage:
    """Decode one datagram from the shim; raises :class:`MalformedMessage`."""
    try:
        return _shim_decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise MalformedMessage(str(exc)) from None
