"""Subjects and texts of mail: reply prefixes, our reference tokens, and the word similarity
email threading's scored match uses.  Pure functions, no store (the outbound side writes the
tokens, :mod:`omnisdk.threading.email` reads them).

Reference tokens are what our own mail puts in its subject so that a reply whose client
dropped ``In-Reply-To`` and ``References`` still finds its way:

- ``[Case:CS0000011]``: a case, by its number (:class:`omnisdk.model.Case`);
- ``[Ref:IN9f3a0c2d1e]``: an interaction, by the last 10 hex digits of its id (the random part,
  see :mod:`omnisdk.ids`).

A token only ever threads mail from the contact the case or interaction belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|antw|rif|tr|odp|ynt|res|enc)\s*(?:\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE)
"""Reply and forward prefixes of common clients, in several languages (``Re:``, ``Fwd:``,
``AW:``, ``WG:``, ``SV:``, ``Antw:``, ``Rif:``, ``TR:``, ``Odp:``, ``YNT:``, ``RES:``,
``ENC:`` …), repeated or numbered (``Re[2]:``)."""
_CASE_TOKEN = re.compile(r"\[?\s*Case\s*:\s*(CS\d{7,})\s*\]?", re.IGNORECASE)
_REF_TOKEN = re.compile(r"\[?\s*Ref\s*:\s*IN([0-9a-f]{10})\s*\]?", re.IGNORECASE)
_TAG = re.compile(r"^\s*(?:\[[^\]]{1,40}\]\s*)+")
_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)
REF_DIGITS = 10
"""Hex digits of an interaction id in its token."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """The reference tokens found in a subject."""

    case_number: str | None
    interaction_suffix: str | None


def case_token(number: str) -> str:
    """``[Case:CS0000011]``."""
    return f"[Case:{number}]"


def interaction_token(interaction_id: str) -> str:
    """``[Ref:IN<last 10 hex digits>]`` of an interaction id."""
    return f"[Ref:IN{interaction_id[-REF_DIGITS:]}]"


def tokens(subject: str) -> Tokens:
    """The case number and interaction id suffix a subject carries, if any."""
    case = _CASE_TOKEN.search(subject)
    ref = _REF_TOKEN.search(subject)
    return Tokens(case.group(1).upper() if case else None, ref.group(1).lower() if ref else None)


def base_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and our tokens, case kept:
    ``"Re: AW: Order 42 [Case:CS0000011]"`` → ``"Order 42"``."""
    text = _REF_TOKEN.sub(" ", _CASE_TOKEN.sub(" ", subject))
    previous = None
    while previous != text:
        previous = text
        text = _PREFIX.sub("", text)
    return " ".join(text.split())


def reply_subject(subject: str, token: str) -> str:
    """``"Re: <base subject> <token>"``: one ``Re:``, our token once."""
    base = base_subject(subject)
    return f"Re: {base} {token}" if base else f"Re: {token}"


def normalized(subject: str) -> str:
    """The subject without reply/forward prefixes, list tags (``[support]``), our tokens, case
    and extra whitespace: ``"Re: AW: [acme] Order 42 [Case:CS0000011]"`` → ``"order 42"``."""
    text = _CASE_TOKEN.sub(" ", subject)
    text = _REF_TOKEN.sub(" ", text)
    previous = None
    while previous != text:  # "Re: [list] Fwd: …" interleaves prefixes and tags
        previous = text
        text = _PREFIX.sub("", text)
        text = _TAG.sub("", text)
    return " ".join(text.split()).casefold()


def words(text: str) -> frozenset[str]:
    """The distinct words (letters and digits, two or more) of a text, case-folded."""
    return frozenset(w.casefold() for w in _WORD.findall(text or ""))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|, 0.0 for two empty sets."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)
