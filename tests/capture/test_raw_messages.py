import pytest
from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.capture.raw_messages import (
    CompilerArtifact,
    MalformedMessage,
    RustcDiagnostic,
    ShimLine,
    ShimStart,
    decode_cargo_line,
    decode_shim_datagram,
    parse_package_id,
)

ARTIFACT = (
    b'{"reason":"compiler-artifact","package_id":"path+file:///tmp/ws/core#0.1.0",'
    b'"manifest_path":"/tmp/ws/core/Cargo.toml","target":{"kind":["lib"],"crate_types":["lib"],'
    b'"name":"core","src_path":"/tmp/ws/core/src/lib.rs","edition":"2024","doc":true,'
    b'"doctest":true,"test":true},"profile":{"opt_level":"0","debuginfo":2,'
    b'"debug_assertions":true,"overflow_checks":true,"test":false},"features":[],'
    b'"filenames":["/tmp/ws/target/debug/libcore.rlib",'
    b'"/tmp/ws/target/debug/deps/libcore-a722eac70d116a69.rmeta"],"executable":null,"fresh":false}'
)
DIAGNOSTIC = (
    b'{"$message_type":"diagnostic","rendered":"error[E0308]",'
    b'"children":[],"code":{"code":"E0308","explanation":"x"},'
    b'"level":"error","message":"mismatched types","spans":[{"byte_end":1,"byte_start":0,'
    b'"column_end":2,"column_start":5,"file_name":"src/main.rs","is_primary":true,'
    b'"line_end":3,"line_start":3,"label":null,"text":[]}]}'
)


def test_decode_artifact() -> None:
    msg = decode_cargo_line(ARTIFACT)
    assert isinstance(msg, CompilerArtifact)
    assert msg.target.name == "core"
    assert msg.filenames[1].endswith(".rmeta")
    assert not msg.fresh


def test_decode_rustc_diagnostic_relayed_by_the_shim() -> None:
    msg = decode_shim_datagram(b'{"e":"msg","u":1,"t":2,"m":' + DIAGNOSTIC + b"}")
    assert isinstance(msg, ShimLine) and isinstance(msg.m, RustcDiagnostic)
    assert msg.m.code is not None and msg.m.code.code == "E0308"
    assert msg.m.spans[0].line_start == 3


def test_unknown_reason_is_ignored_not_an_error() -> None:
    assert decode_cargo_line(b'{"reason":"timing-info","package_id":"x"}') is None


@pytest.mark.parametrize(
    "line",
    [b"", b"not json", b"{", b"[1,2]", b'{"reason":"compiler-artifact"}', b"\xff\xfe"],
)
def test_malformed_lines_raise_malformed(line: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_cargo_line(line)


@given(st.binary(max_size=300))
def test_cargo_decoder_never_raises_anything_else(data: bytes) -> None:
    try:
        decode_cargo_line(data)
    except MalformedMessage:
        pass


@given(st.binary(max_size=300))
def test_shim_decoder_never_raises_anything_else(data: bytes) -> None:
    try:
        decode_shim_datagram(data)
    except MalformedMessage:
        pass


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_cargo_decoder_on_arbitrary_json(value: object) -> None:
    import json

    try:
        decode_cargo_line(json.dumps(value).encode())
    except MalformedMessage:
        pass


def test_decode_shim_messages() -> None:
    start = decode_shim_datagram(
        b'{"e":"start","u":5,"t":100,"pid":6,"pkg":"a","ver":"1.0.0","dir":"/a","crate":"a",'
        b'"primary":true,"args":["--crate-name","a"],"bin":""}'
    )
    assert isinstance(start, ShimStart) and start.pid == 6
    line = decode_shim_datagram(
        b'{"e":"msg","u":5,"t":101,"m":{"$message_type":"section_timing","name":"codegen",'
        b'"event":"start","timestamp":6298}}'
    )
    assert isinstance(line, ShimLine)
    with pytest.raises(MalformedMessage):
        decode_shim_datagram(b'{"e":"msg","u":5,"t":101,"m":{"$message_type":"future_incompat"}}')


@pytest.mark.parametrize(
    ("pid", "expected"),
    [
        ("path+file:///tmp/ws/core#0.1.0", ("core", "0.1.0")),
        ("path+file:///tmp/ws/crates/x#my-pkg@0.2.0", ("my-pkg", "0.2.0")),
        (
            "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.152",
            ("serde", "1.0.152"),
        ),
        (
            "serde 1.0.152 (registry+https://github.com/rust-lang/crates.io-index)",
            ("serde", "1.0.152"),
        ),
    ],
)
def test_parse_package_id(pid: str, expected: tuple[str, str]) -> None:
    assert parse_package_id(pid) == expected
