"""Bounded gunzip of webhook bodies.

Apple Messages for Business posts every message to the MSP as gzip-compressed JSON
(https://register.apple.com/resources/messages/msp-rest-api/messages-received: "the payload
is gzip compressed").  The gateway bounds the bytes on the wire (``max_body_bytes``); a small
gzip stream can still expand a thousand-fold (a "decompression bomb"), so the decompressed
size is bounded too: :func:`gunzip` stops as soon as the output would pass ``limit`` bytes
and raises :class:`~omnisdk.errors.PayloadTooLargeError`, which the gateway answers **413**
(``payload_too_large``), nothing stored.  At most ``limit + 1`` bytes are ever produced.

A body that does not start with the gzip magic bytes (``1f 8b``) is returned unchanged:
recorded bodies, ``omnisdk replay`` and the test kit post the JSON itself, and an MSP behind
a proxy that already decoded ``Content-Encoding: gzip`` sees JSON too.  A body that claims to
be gzip (magic bytes or ``Content-Encoding: gzip``) but is not a valid, complete gzip stream
of one member is a :class:`~omnisdk.errors.PayloadError` (400).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from omnisdk.errors import PayloadError, PayloadTooLargeError

MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def is_gzip(body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the body is (claims to be) gzip: its magic bytes, or ``Content-Encoding: gzip``."""
    return body[:2] == MAGIC or headers.get("content-encoding", "").strip().lower() == "gzip"


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress one gzip member, producing at most ``limit`` bytes.

    Raises:
        PayloadTooLargeError: the decompressed body exceeds ``limit`` bytes (413).
        PayloadError: not a valid, complete gzip stream, or bytes after its end.
    """
    d = zlib.decompressobj(_GZIP_WBITS)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error:
        raise PayloadError("body is not valid gzip") from None
    if len(out) > limit:
        raise PayloadTooLargeError(f"decompressed body exceeds {limit} bytes")
    if not d.eof:
        raise PayloadError("gzip body is truncated")
    if d.unused_data:
        raise PayloadError("bytes after the end of the gzip body")
    return out


def decoded(body: bytes, headers: Mapping[str, str], limit: int) -> bytes:
    """The JSON bytes of a webhook body: :func:`gunzip` when :func:`is_gzip`, else ``body``
    (bounded by ``limit`` as well).

    Raises:
        PayloadTooLargeError, PayloadError: see :func:`gunzip`.
    """
    if is_gzip(body, headers):
        return gunzip(body, limit)
    if len(body) > limit:
        raise PayloadTooLargeError(f"body exceeds {limit} bytes")
    return body
