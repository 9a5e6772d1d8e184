"""What the statement parsers share: decoding bytes and building errors that name a line."""

from __future__ import annotations

from leasekit.errors import ValidationError

__all__ = ["decode", "line_of"]


def line_of(content: bytes | str, offset: int) -> int:
    """The 1-based line number of *offset* in *content*."""
    if isinstance(content, bytes):
        return content.count(b"\n", 0, offset) + 1
    return content.count("\n", 0, offset) + 1


def decode(content: bytes, encoding: str) -> str:
    """*content* as text; a byte-order mark is dropped, undecodable bytes are an error naming
    their line."""
    if encoding.replace("-", "").replace("_", "").lower() in ("utf8", "utf8sig"):
        encoding = "utf-8-sig"
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValidationError.single(
            f"line {line_of(content, exc.start)}",
            f"byte 0x{content[exc.start]:02x} is not {encoding} text",
        ) from None
    except LookupError:
        raise ValidationError.single("encoding", f"unknown encoding {encoding!r}") from None
    if "\x00" in text:
        raise ValidationError.single(
            f"line {line_of(text, text.index(chr(0)))}", "holds a NUL character: not a text file"
        )
    return text
