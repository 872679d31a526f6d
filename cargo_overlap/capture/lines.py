"""Split a byte stream into lines without letting one huge line take all the memory."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Oversize:
    """A line longer than the limit, dropped; ``size`` is how many bytes it had."""

    size: int
    head: bytes


@dataclass
class LineSplitter:
    """Feed chunks, get complete lines (with their newline stripped) or :class:`Oversize`."""

    max_line: int
    _buf: bytearray = field(default_factory=bytearray)
    _skipping: int = 0
    _skip_head: bytes = b""

    def feed(self, chunk: bytes) -> list[bytes | Oversize]:
        """The lines completed by ``chunk``."""
        out: list[bytes | Oversize] = []
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                break
            piece = chunk[start:nl]
            start = nl + 1
            if self._skipping:
                out.append(Oversize(self._skipping + len(piece), self._skip_head))
                self._skipping = 0
                continue
            if self._buf:
                self._buf += piece
                piece = bytes(self._buf)
                self._buf.clear()
            if len(piece) > self.max_line:
                out.append(Oversize(len(piece), piece[:200]))
            else:
                out.append(piece)
        rest = chunk[start:]
        if self._skipping:
            self._skipping += len(rest)
        elif len(self._buf) + len(rest) > self.max_line:
            self._skip_head = bytes(self._buf[:200] if self._buf else rest[:200])
            self._skipping = len(self._buf) + len(rest)
            self._buf.clear()
        else:
            self._buf += rest
        return out

    def close(self) -> list[bytes | Oversize]:
        """The last line, if the stream did not end with a newline."""
        if self._skipping:
            size, self._skipping = self._skipping, 0
            return [Oversize(size, self._skip_head)]
        if self._buf:
            last = bytes(self._buf)
            self._buf.clear()
            return [last]
        return []
