"""Email threading: which interaction an inbound mail joins, and why.

The core, not the plugin, threads mail: it indexes every inbound (and, once sent, outbound)
Message-ID per account (:class:`~omnisdk.store.protocols.EmailIndex`), so a plugin needs no
state.  A mail is matched in this order; the first rule that decides wins:

1. ``in_reply_to``: its ``In-Reply-To`` names an indexed Message-ID (score 1.0);
2. ``references``: one of its ``References`` does, the newest first (score 0.95);
3. ``subject_token``: its subject carries our token of a case (``[Case:CS0000011]``) or of an
   interaction (``[Ref:IN…]``) **of the same contact** (score 0.9); a token of another contact's
   case or interaction is ignored, and said so in the decision;
4. ``scored``: among the same contact's open email interactions, the best of
   ``0.45 × subject + 0.35 × content + 0.20 × recency`` (:func:`score`), if it reaches
   :data:`MATCH_THRESHOLD`;
5. ``new``: otherwise a new interaction (the decision keeps the best score below the
   threshold, and its candidate).  The threader never merges mail it is not sure of.

A match to a **closed** interaction continues with the contact's newest open email interaction
if there is one; otherwise the mail opens a new interaction linked to the closed one's case,
if it had one.  Automatic mail (``EmailHeaders.auto``: auto-replies, bulk, lists) joins an
interaction only by rules 1–2 and never opens one.

Every decision is an :class:`EmailThreading`, recorded on the message (``threading`` in the
stored body) and shown by ``omnisdk interaction`` and ``GET /v1/interactions/{id}``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from omnisdk.model import Case, Interaction, Message
from omnisdk.model.email import EmailHeaders
from omnisdk.model.subjects import jaccard, normalized, tokens, words
from omnisdk.store.protocols import Transaction

MATCH_THRESHOLD = 0.6
"""A scored match below this opens a new interaction."""

SUBJECT_WEIGHT, CONTENT_WEIGHT, RECENCY_WEIGHT = 0.45, 0.35, 0.20
RECENCY_HALF_LIFE_DAYS = 7.0
"""The recency term halves every week since the candidate's last customer message."""

RULE_IN_REPLY_TO, RULE_REFERENCES, RULE_SUBJECT_TOKEN = "in_reply_to", "references", "subject_token"
RULE_SCORED, RULE_NEW, RULE_AUTOMATIC = "scored", "new", "automatic_ignored"
RULES = (RULE_IN_REPLY_TO, RULE_REFERENCES, RULE_SUBJECT_TOKEN, RULE_SCORED, RULE_NEW, RULE_AUTOMATIC)
"""Every rule a decision can name, in matching order (the last: automatic mail that matched
nothing, kept without an interaction)."""

_TEXTS_PER_CANDIDATE = 5


@dataclass(frozen=True, slots=True)
class EmailThreading:
    """One threading decision.

    Attributes:
        rule: one of :data:`RULES`.
        score: 0.0–1.0; 1.0, 0.95 and 0.9 for the header and token rules; the best candidate's
            score for ``scored`` and ``new``.
        interaction_id: the open interaction the mail joins; None for a new one (or none).
        case_id: the case a new interaction is linked to (a token, or a closed match's case).
        detail: the reason in words (which id, token or candidate, and what was refused).
    """

    rule: str
    score: float
    interaction_id: str | None
    case_id: str | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """The decision as stored on the message (``threading``)."""
        return asdict(self)


def thread_email(tx: Transaction, source: str, message: Message, now: datetime) -> EmailThreading:
    """Decide where an inbound mail of account ``source`` goes (rules in the module
    docstring).  Reads the store; writes nothing."""
    email = message.email
    assert email is not None, "thread_email needs Message.email"
    found = _by_headers(tx, source, email)
    if found is not None:
        rule, score, link_id, detail = found
        return _continue(tx, source, message, rule, score, link_id, detail)
    if email.auto:
        return EmailThreading(RULE_AUTOMATIC, 0.0, None, None,
                              f"automatic mail ({email.auto_header or email.auto}) matching no thread: "
                              "kept, opens no interaction")
    refused = ""
    token = tokens(email.subject)
    if token.case_number:
        case = tx.get_case(token.case_number)
        if case is not None and case.customer == message.customer:
            return _into_case(tx, source, message, case, f"subject token [Case:{token.case_number}]")
        refused += f"[Case:{token.case_number}] names no case of {message.customer}; "
    if token.interaction_suffix:
        ids = tx.find_interactions(token.interaction_suffix, limit=2)
        target = tx.get_interaction(ids[0]) if len(ids) == 1 else None
        if target is not None and target.customer == message.customer and target.source == source:
            return _continue(tx, source, message, RULE_SUBJECT_TOKEN, 0.9, target.id,
                             f"subject token [Ref:IN{token.interaction_suffix}]")
        refused += f"[Ref:IN{token.interaction_suffix}] names no interaction of {message.customer}; "
    return _scored(tx, source, message, now, refused)


def _by_headers(tx: Transaction, source: str, email: EmailHeaders) -> tuple[str, float, str, str] | None:
    if email.in_reply_to:
        links = tx.interactions_for_message_ids(source, email.in_reply_to)
        if links:
            return RULE_IN_REPLY_TO, 1.0, links[-1].interaction_id, f"In-Reply-To <{links[-1].message_id}>"
    if email.references:
        links = tx.interactions_for_message_ids(source, email.references)
        if links:
            return RULE_REFERENCES, 0.95, links[-1].interaction_id, f"References <{links[-1].message_id}>"
    return None


def _continue(tx: Transaction, source: str, message: Message, rule: str, score: float,
              interaction_id: str, detail: str) -> EmailThreading:
    """Join the matched interaction if it is open; else the contact's newest open one; else a
    new interaction linked to the matched one's case."""
    target = tx.get_interaction(interaction_id)
    if target is not None and target.state != "closed":
        return EmailThreading(rule, score, target.id, target.case_id, f"{detail} → {target.id}")
    case_id = target.case_id if target is not None else None
    open_ = _open_of(tx, source, message)
    if open_:
        return EmailThreading(rule, score, open_[0].id, open_[0].case_id,
                              f"{detail} → {interaction_id}, closed: joined the contact's open {open_[0].id}")
    tail = f", linked to its case {case_id}" if case_id else ""
    return EmailThreading(rule, score, None, case_id, f"{detail} → {interaction_id}, closed: a new interaction{tail}")


def _into_case(tx: Transaction, source: str, message: Message, case: Case, detail: str) -> EmailThreading:
    """A case token: the case's open email interaction, else a new one linked to the case."""
    for candidate in _open_of(tx, source, message):
        if candidate.case_id == case.id:
            return EmailThreading(RULE_SUBJECT_TOKEN, 0.9, candidate.id, case.id, f"{detail} → {candidate.id}")
    return EmailThreading(RULE_SUBJECT_TOKEN, 0.9, None, case.id,
                          f"{detail}: a new interaction linked to case {case.number}")


def _open_of(tx: Transaction, source: str, message: Message) -> list[Interaction]:
    return tx.active_interactions_of(source, "email", message.customer)


def _scored(tx: Transaction, source: str, message: Message, now: datetime, refused: str) -> EmailThreading:
    email = message.email
    assert email is not None
    mail = _Terms.of(email.subject, message.text or "")  # the mail's side, once for all candidates
    best: tuple[float, Interaction | None] = (0.0, None)
    for candidate in _open_of(tx, source, message):
        subject, texts = _candidate_texts(tx, candidate)
        value = _score(mail, _Terms.of(subject, " ".join(texts)), candidate, now)
        if value > best[0]:
            best = (value, candidate)
    value, candidate = best
    value = round(value, 3)
    if candidate is not None and value >= MATCH_THRESHOLD:
        return EmailThreading(RULE_SCORED, value, candidate.id, candidate.case_id,
                              f"{refused}scored {value} ≥ {MATCH_THRESHOLD} with {candidate.id}")
    near = f"; best {value} with {candidate.id}" if candidate is not None else "; no open interaction of the contact"
    return EmailThreading(RULE_NEW, value, None, None, f"{refused}no thread matched{near}")


def _candidate_texts(tx: Transaction, candidate: Interaction) -> tuple[str, list[str]]:
    """The candidate's first subject and its latest message texts."""
    rows = tx.messages_of(candidate.id)
    subject = ""
    for row in rows:
        mail = (row.body or {}).get("email") or {}
        if mail.get("subject"):
            subject = mail["subject"]
            break
    texts = [str((row.body or {}).get("text") or "") for row in rows[-_TEXTS_PER_CANDIDATE:]]
    return subject, texts


def score(subject: str, text: str, candidate_subject: str, candidate_texts: list[str],
          candidate: Interaction, now: datetime) -> float:
    """How likely a mail (``subject``, new ``text``) continues ``candidate``, 0.0–1.0:

    - subject (0.45): 1.0 when the normalized subjects are equal and not empty, else the
      Jaccard similarity of their words;
    - content (0.35): Jaccard similarity of the mail's words and the words of the candidate's
      latest messages;
    - recency (0.20): 0.5 ** (days since the candidate's last customer message / 7).
    """
    return _score(_Terms.of(subject, text), _Terms.of(candidate_subject, " ".join(candidate_texts)), candidate, now)


@dataclass(frozen=True, slots=True)
class _Terms:
    """What :func:`score` compares of one side: the normalized subject, its words, the text's
    words (worked out once per mail, not once per candidate)."""

    subject: str
    subject_words: frozenset[str]
    text_words: frozenset[str]

    @classmethod
    def of(cls, subject: str, text: str) -> _Terms:
        norm = normalized(subject)
        return cls(norm, words(norm), words(text))


def _score(mail: _Terms, candidate_terms: _Terms, candidate: Interaction, now: datetime) -> float:
    mine, theirs = mail.subject, candidate_terms.subject
    subject_part = 1.0 if mine and mine == theirs else jaccard(mail.subject_words, candidate_terms.subject_words)
    content_part = jaccard(mail.text_words, candidate_terms.text_words)
    last = candidate.last_customer_message_at or candidate.updated_at
    days = max(0.0, (now - last).total_seconds() / 86400.0)
    recency_part = math.pow(0.5, days / RECENCY_HALF_LIFE_DAYS)
    return SUBJECT_WEIGHT * subject_part + CONTENT_WEIGHT * content_part + RECENCY_WEIGHT * recency_part
