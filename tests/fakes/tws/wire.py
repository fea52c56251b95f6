"""The TWS API's legacy text framing: a 4-byte big-endian length, then fields each ended by NUL.

The client opens with the bare bytes `API\\0` and one framed field `v<min>..<max>[ options]`;
everything after that, both ways, is framed. Booleans are `1`/`0`; an unset number is the
empty string (IB's `UNSET_DOUBLE`/`UNSET_INTEGER` on the client side).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

HANDSHAKE_PREFIX = b"API\0"
_LENGTH = struct.Struct(">I")
# A frame this long is not the API (the biggest real messages are a few kB).
MAX_FRAME = 16 * 1024 * 1024


class ProtocolError(Exception):
    """What the client sent is not the API's framing or not the layout of its message."""


def text(value: object) -> str:
    """Format one field the way TWS writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def frame(fields: Iterable[object]) -> bytes:
    """Encode one message: its fields NUL-terminated, prefixed with their byte length."""
    body = "".join(text(f) + "\0" for f in fields).encode()
    return _LENGTH.pack(len(body)) + body


def split_frames(buffer: bytearray) -> list[list[str]]:
    """Take every complete frame off the front of `buffer` and return each one's fields."""
    messages: list[list[str]] = []
    while len(buffer) >= _LENGTH.size:
        (size,) = _LENGTH.unpack_from(buffer)
        if size > MAX_FRAME:
            raise ProtocolError(f"frame of {size} bytes")
        if len(buffer) < _LENGTH.size + size:
            break
        body = bytes(buffer[_LENGTH.size : _LENGTH.size + size])
        del buffer[: _LENGTH.size + size]
        fields = body.decode(errors="backslashreplace").split("\0")
        if fields and fields[-1] == "":
            fields.pop()  # the terminator of the last field
        messages.append(fields)
    return messages


def version_range(offer: str) -> tuple[int, int]:
    """Read the client's `v157..178` (or `v176`) offer, ignoring connect options after it."""
    head = offer.split(" ", 1)[0]
    if not head.startswith("v"):
        raise ProtocolError(f"version offer {offer!r}")
    low, _, high = head[1:].partition("..")
    try:
        return int(low), int(high or low)
    except ValueError as exc:
        raise ProtocolError(f"version offer {offer!r}") from exc


class Fields:
    """A cursor over one message's fields, read in order as the protocol lays them out."""

    def __init__(self, fields: list[str], start: int = 0) -> None:
        self._fields = fields
        self.at = start

    def __len__(self) -> int:
        return len(self._fields) - self.at

    def text(self) -> str:
        if self.at >= len(self._fields):
            raise ProtocolError(f"message {self._fields[:1]} ends at field {self.at}")
        value = self._fields[self.at]
        self.at += 1
        return value

    def integer(self, default: int = 0) -> int:
        raw = self.text()
        try:
            return int(raw) if raw else default
        except ValueError as exc:
            raise ProtocolError(f"field {self.at - 1} is not an integer: {raw!r}") from exc

    def number(self) -> Decimal | None:
        """A number, or None for IB's unset (the empty string)."""
        raw = self.text()
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation as exc:
            raise ProtocolError(f"field {self.at - 1} is not a number: {raw!r}") from exc
        # The client writes UNSET_DOUBLE as "" but a float max can still arrive verbatim.
        return None if value > Decimal("1e300") else value

    def flag(self) -> bool:
        return self.integer() != 0

    def skip(self, count: int) -> None:
        for _ in range(count):
            self.text()
