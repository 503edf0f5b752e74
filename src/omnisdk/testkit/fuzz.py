"""Malformed bodies: hand-picked ones, truncations, deep nesting and bodies at the size limit,
and hypothesis strategies that mutate the recorded bodies (byte edits; JSON-level and
form-level structural edits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from hypothesis import strategies as st

HAND_PICKED: tuple[bytes, ...] = (
    b"", b" ", b"\x00", b"\xff\xfe\xfd", b"null", b"true", b"0", b'"text"', b"[]", b"{}",
    b"[null]", b'{"": null}', b"{" * 10, b"[" * 3000, b"not a body", b"a=b", b"=&=&",
    b"%ZZ=%", b"\xc3\x28=\xa0\xa1", b"<xml/>",
)
"""Bodies no provider sends: every adapter must answer them with events or PayloadError."""


def is_json(body: bytes) -> bool:
    """True when ``body`` is a JSON document."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


DEEP_NESTING_DEPTHS: tuple[int, ...] = (254, 255, 256, 512, 1000, 1023, 1024)
"""Nesting depths (levels of ``[``/``{``) the kit sends.  orjson reads JSON up to 1,024 levels
but writes only up to 254, so a parser that accepts such a body breaks later (its own
translation, the inbox writer): an adapter must refuse it with ``PayloadError`` before parsing
(``omnisdk.payloads.loads`` does)."""

_DEEP_SENTINEL = "omnisdk-testkit-deep-nesting-sentinel"


def deeply_nested(depth: int) -> list[bytes]:
    """Bare JSON documents nested ``depth`` levels: arrays (``[[[…]]]``) and objects
    (``{"a":{"a":…1}}``)."""
    return [b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth]


def nested_into(body: bytes, depth: int, most: int = 6) -> list[bytes]:
    """The recorded JSON ``body`` with one of its leaves (up to ``most`` of them, the deepest
    first) replaced by an array nested ``depth`` levels, so that the parser walks the real
    structure and meets the deep value where it reads a field.  ``[]`` if ``body`` is not a
    JSON object or array."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(doc, (dict, list)):
        return []
    leaves = [p for p in _paths(doc) if not isinstance(_get(doc, p), (dict, list))]
    leaves.sort(key=len, reverse=True)
    deep = b"[" * depth + b"]" * depth
    marker = orjson.dumps(_DEEP_SENTINEL)
    out: list[bytes] = []
    for path in leaves[:most]:
        copy = orjson.loads(body)
        parent = _get(copy, path[:-1])
        parent[path[-1]] = _DEEP_SENTINEL
        out.append(orjson.dumps(copy).replace(marker, deep, 1))
    return out


def at_size_limit(body: bytes, limit: int) -> list[bytes]:
    """JSON bodies of exactly ``limit`` bytes: the recorded ``body`` padded with trailing
    whitespace (still the same document), and a flat array ``[0,0,…]``.  ``[]`` when ``body``
    is longer than ``limit`` or not JSON."""
    if len(body) > limit or not is_json(body):
        return []
    flat = b"[" + b",".join([b"0"] * ((limit - 1) // 2)) + b"]"
    flat = flat if len(flat) == limit else flat[:-1] + b" ]"
    return [body + b" " * (limit - len(body)), flat[:limit]]


def _get(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def cut_points(length: int, most: int = 48) -> list[int]:
    """Up to ``most`` prefix lengths in ``[0, length)``, evenly spread, ends included."""
    if length <= most:
        return list(range(length))
    step = (length - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def byte_mutations(draw: Any, bodies: Sequence[bytes]) -> bytes:
    """One recorded body with 1–4 byte edits: replace, insert or delete a byte."""
    buf = bytearray(draw(st.sampled_from(list(bodies))))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("replace", "insert", "delete")))
        at = draw(st.integers(0, max(len(buf) - 1, 0)))
        if op == "insert" or not buf:
            buf.insert(at, draw(st.integers(0, 255)))
        elif op == "replace":
            buf[at] = draw(st.integers(0, 255))
        else:
            del buf[at]
    return bytes(buf)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def json_mutations(draw: Any, bodies: Sequence[bytes]) -> bytes:
    """One recorded JSON body with 1–3 structural edits: a value replaced by another JSON
    value, or a key/item deleted."""
    doc = orjson.loads(draw(st.sampled_from(list(bodies))))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            doc = draw(JSON_VALUES)
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            parent[path[-1]] = draw(JSON_VALUES)
        else:
            del parent[path[-1]]
    return orjson.dumps(doc)


@st.composite
def form_mutations(draw: Any, bodies: Sequence[bytes]) -> bytes:
    """One recorded form body with 1–3 edits: a pair dropped, a value replaced, a name
    repeated with another value, or a pair added."""
    pairs = parse_qsl(draw(st.sampled_from(list(bodies))).decode("utf-8", "replace"),
                      keep_blank_values=True)
    text = st.text(max_size=12)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(("drop", "replace", "repeat", "add")))
        if not pairs or op == "add":
            pairs.append((draw(text), draw(text)))
            continue
        i = draw(st.integers(0, len(pairs) - 1))
        if op == "drop":
            del pairs[i]
        elif op == "replace":
            pairs[i] = (pairs[i][0], draw(text))
        else:
            pairs.append((pairs[i][0], draw(text)))
    return urlencode(pairs).encode()
