"""The built-in summary of an interaction: extractive, local and deterministic.

``omnisdk_summarize`` lets a plugin (an LLM, say) answer; when none does, the core answers
with :func:`extractive_summary`: no network, no model, the same text for the same thread.

It works over the thread's own **new** text (``text`` of each message: for mail, the quoted
history and signature are already cut by the email plugin), so a summary never repeats the
quotes.  Each sentence scores the mean frequency, over the whole thread, of its content words
(stop words and one-letter words left out); the :data:`MAX_SENTENCES` best, at least one per
speaker who said something, are given in thread order, each after its speaker
(``Customer:`` or ``Agent:``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

MAX_SENTENCES = 4
"""Sentences in a summary."""
MAX_SENTENCE_CHARS = 240
"""A longer sentence is cut, with an ellipsis."""

_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
_STOP = frozenset("""
a an and are as at be been but by can could did do does for from had has have he her his how i if in
into is it its me my no not of on or our please so that the their them then there these they this to
us was we were what when where which who will with would you your hi hello dear thanks thank regards
""".split())
_SPEAKERS = {"inbound": "Customer", "outbound": "Agent"}


def extractive_summary(messages: Sequence[dict[str, Any]]) -> str:
    """A few of the thread's sentences, one line each (``"Customer: …"``); ``""`` for a thread
    with no text.

    ``messages``: the interaction's messages, oldest first, as
    :meth:`omnisdk.runtime.Runtime.interaction` returns them (``direction`` and ``body.text``).
    """
    sentences: list[tuple[int, str, str, list[str]]] = []
    for m in messages:
        text = str((m.get("body") or {}).get("text") or "")
        speaker = _SPEAKERS.get(m.get("direction", ""), "Customer")
        for part in _SENTENCE.split(text):
            part = " ".join(part.split())
            content = [w for w in (w.casefold() for w in _WORD.findall(part)) if w not in _STOP]
            if content:
                sentences.append((len(sentences), speaker, part, content))
    if not sentences:
        return ""
    freq = Counter(w for *_, content in sentences for w in content)

    def score(item: tuple[int, str, str, list[str]]) -> tuple[float, int]:
        content = item[3]
        return (-sum(freq[w] for w in content) / len(content), item[0])

    ranked = sorted(sentences, key=score)
    chosen: dict[int, tuple[int, str, str, list[str]]] = {}
    for speaker in dict.fromkeys(s[1] for s in sentences):  # the best of each speaker first
        best = next(s for s in ranked if s[1] == speaker)
        chosen[best[0]] = best
    for item in ranked:
        if len(chosen) >= MAX_SENTENCES:
            break
        chosen.setdefault(item[0], item)
    lines = []
    for _, speaker, text, _ in sorted(chosen.values()):
        if len(text) > MAX_SENTENCE_CHARS:
            text = text[:MAX_SENTENCE_CHARS - 1].rstrip() + "…"
        lines.append(f"{speaker}: {text}")
    return "\n".join(lines)
