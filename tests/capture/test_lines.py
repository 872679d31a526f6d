from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.capture.lines import LineSplitter, Oversize


def split_all(chunks: list[bytes], limit: int) -> list[bytes | Oversize]:
    s = LineSplitter(limit)
    out: list[bytes | Oversize] = []
    for c in chunks:
        out.extend(s.feed(c))
    out.extend(s.close())
    return out


def test_lines_across_chunks() -> None:
    assert split_all([b"ab", b"c\nde", b"\n", b"f"], 100) == [b"abc", b"de", b"f"]


def test_oversize_line_is_reported_and_skipped() -> None:
    out = split_all([b"x" * 50, b"y" * 60, b"\nok\n"], 100)
    assert isinstance(out[0], Oversize)
    assert out[0].size == 110
    assert out[0].head.startswith(b"x")
    assert out[1] == b"ok"


def test_oversize_in_one_chunk() -> None:
    out = split_all([b"z" * 300 + b"\nnext\n"], 100)
    assert isinstance(out[0], Oversize) and out[0].size == 300
    assert out[1] == b"next"


@given(st.lists(st.binary(max_size=40), max_size=20), st.data())
def test_any_chunking_gives_the_same_lines(pieces: list[bytes], data: st.DataObject) -> None:
    text = b"\n".join(p.replace(b"\n", b"") for p in pieces)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=10)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    expected = text.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()
    assert split_all(chunks, 1000) == expected
