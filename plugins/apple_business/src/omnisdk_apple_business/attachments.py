"""Attachments: AES-256-CTR, and the headers of Apple's pre-download and pre-upload calls.

Apple's rules (https://register.apple.com/resources/messages/msp-rest-api/attachments;
https://developer.apple.com/documentation/businesschatapi/messages_received/receiving_large_interactive_data_payloads
and "Encrypting an Attachment"):

- every attachment is stored encrypted with **AES-256 in CTR mode**, a 256-bit key and an
  initial counter block of zero (16 zero bytes); the key travels in the message as hex text
  with a ``00`` prefix (``key`` inbound, ``decryption-key`` outbound);
- **download**: ``GET /v1/preDownload`` with the headers ``source-id`` (the business id),
  ``url`` and ``owner`` (the attachment's), ``signature`` (its hex ``signature`` re-encoded
  as base64) answers ``{"download-url": …}``; a ``GET`` of that URL gives the encrypted bytes;
- **upload**: ``GET /v1/preUpload`` with ``source-id`` and ``size`` (of the encrypted bytes)
  answers ``{"upload-url", "mmcs-url", "mmcs-owner"}``; a ``POST`` of the encrypted bytes to
  ``upload-url`` answers ``{"singleFile": {"fileChecksum": …}}``; the message then carries
  ``{"name", "mime-type", "file-size", "signature-base64" (the checksum), "decryption-key",
  "mmcs-url", "mmcs-owner"}`` ("Adding Attachment Metadata to a Message").

Encryption is the ``cryptography`` package's (``Cipher(AES(key), CTR(zero))``).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_PREFIX = "00"
ZERO_COUNTER = bytes(16)
KEY_BYTES = 32


def parse_key(text: str) -> bytes:
    """The AES key of an attachment's ``key`` (``00`` + 64 hex digits).

    Raises:
        ValueError: another shape (the message never holds the key).
    """
    if type(text) is not str or not text.startswith(KEY_PREFIX) or len(text) != 2 + 2 * KEY_BYTES:
        raise ValueError("attachment key is not '00' + 64 hex digits")
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise ValueError("attachment key is not hex") from None


def format_key(key: bytes) -> str:
    """``00`` + the key in upper-case hex (the shape of Apple's examples)."""
    return KEY_PREFIX + key.hex().upper()


def _ctr(key: bytes) -> Any:
    return Cipher(algorithms.AES(key), modes.CTR(ZERO_COUNTER))


def decrypt(data: bytes, key: bytes) -> bytes:
    """AES-256-CTR decryption with a zero initial counter."""
    d = _ctr(key).decryptor()
    return d.update(data) + d.finalize()


def encrypt(data: bytes, key: bytes | None = None) -> tuple[bytes, bytes]:
    """``(ciphertext, key)``: AES-256-CTR with a fresh random key (or ``key``)."""
    key = key if key is not None else os.urandom(KEY_BYTES)
    e = _ctr(key).encryptor()
    return e.update(data) + e.finalize(), key


def pre_download_headers(ref: Mapping[str, Any], business_id: str) -> dict[str, str]:
    """The headers of ``GET /v1/preDownload`` for an attachment reference (the ``url``,
    ``owner`` and hex ``signature`` of the inbound attachment dictionary).

    Raises:
        ValueError: a missing field, or a signature that is not hex.
    """
    url, owner, sig = ref.get("url"), ref.get("owner"), ref.get("signature")
    if not all(type(v) is str and v for v in (url, owner, sig)):
        raise ValueError("attachment reference needs url, owner and signature")
    try:
        raw = binascii.unhexlify(sig)  # type: ignore[arg-type]
    except (binascii.Error, ValueError):
        raise ValueError("attachment signature is not hex") from None
    return {"source-id": business_id, "url": url, "owner": owner,  # type: ignore[dict-item]
            "signature": base64.b64encode(raw).decode("ascii")}


def message_attachment(name: str, mime_type: str, size: int, checksum: str, key: bytes,
                       mmcs_url: str, mmcs_owner: str) -> dict[str, str]:
    """The attachment dictionary of an outbound message (see the module docstring)."""
    return {"name": name, "mime-type": mime_type, "file-size": str(size), "signature-base64": checksum,
            "decryption-key": format_key(key), "mmcs-url": mmcs_url, "mmcs-owner": mmcs_owner}
