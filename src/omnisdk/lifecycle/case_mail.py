"""What a mail does to a case: email to case, updates, and accept or reject by mail.

Called for every customer mail once it is threaded (:mod:`omnisdk.threading.email`):

- **Email to case.** A mail that starts a new thread (rule ``new``) to one of
  ``[lifecycle] case_addresses`` opens a case from its new interaction at once
  (:meth:`omnisdk.lifecycle.cases.Cases.create_case`: the customer is sent the confirmation
  ``case_created_text`` with the number, the interaction closes with "Task created"); the first
  of ``case_products`` its subject names becomes the case's ``product``.
- **Updates.** A mail that joins a case (a ``[Case:CS…]`` token, or a reply in a case's thread)
  is kept in the case's ``updates`` (``at``, ``message_id``, ``from``, ``counted``, ``reason``).
- **Spoofing.** An update counts only from the case's contact (its ``customer``, or one of its
  ``contacts``: an address an agent mailed the case's resolution to), and not at all when the
  receiving MTA's trusted ``Authentication-Results`` says ``dmarc=fail``; otherwise it is kept
  as a note that acts on nothing (``counted: false`` and the reason).
- **Accept or reject.** A counted update to a case whose solution is proposed, whose new text's
  first line is ``accept`` or ``reject`` (any case, trailing punctuation allowed), moves the
  case to ``resolved`` or back to ``in_progress`` (``by = "customer"``); with
  ``[lifecycle] case_accept_closes`` an accept then closes it
  (:func:`omnisdk.lifecycle.case_states.customer_verdict`).
"""

from __future__ import annotations

import re

from omnisdk.lifecycle.case_states import customer_verdict, texts_of
from omnisdk.lifecycle.cases import Cases
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.settings import LifecycleSettings
from omnisdk.model import Case, CaseState, CaseUpdate, Interaction, Message

_VERDICT = re.compile(r"^\s*(accept|reject)\b[\s.!]*$", re.IGNORECASE)


def verdict(text: str | None) -> str | None:
    """``"accept"`` or ``"reject"`` when the first non-empty line of ``text`` is that word."""
    for line in (text or "").splitlines():
        if line.strip():
            found = _VERDICT.match(line)
            return found.group(1).lower() if found else None
    return None


class CaseMail:
    """A mail's effects on cases (see the module docstring)."""

    def __init__(self, settings: LifecycleSettings, cases: Cases) -> None:
        self.settings = settings
        self.cases = cases
        self._case_addresses = frozenset(a.lower() for a in settings.case_addresses)

    def on_mail(self, ctx: Ctx, message: Message, inter: Interaction, rule: str, created: bool) -> bool:
        """Apply one threaded customer mail (``rule``: the threading rule; ``created``: it
        opened ``inter``); True when it opened a case (its confirmation replaces the
        acknowledgement)."""
        if created and rule == "new" and message.business.lower() in self._case_addresses:
            subject = message.email.subject if message.email and message.email.subject else None
            case = self.cases.create_case(ctx, inter.id, subject)
            product = self._product(subject or "")
            if product:
                ctx.tx.save_case(case.model_copy(update={"product": product}))
            return True
        if inter.case_id:
            case = ctx.tx.get_case(inter.case_id)
            if case is not None:
                self._update(ctx, case, message)
        return False

    def _product(self, subject: str) -> str | None:
        for name in self.settings.case_products:
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", subject, re.IGNORECASE):
                return name
        return None

    def _update(self, ctx: Ctx, case: Case, message: Message) -> None:
        counted, reason = True, None
        auth = message.email.authentication if message.email else {}
        if message.customer.lower() not in {case.customer.lower(), *(case.contacts or ())}:
            counted, reason = False, f"from {message.customer}, not the case's contact: kept as a note"
        elif auth.get("dmarc") == "fail":
            counted, reason = False, "the receiving MTA says dmarc=fail: kept as a note"
        update = CaseUpdate(at=ctx.now, message_id=message.message_id, sender=message.customer, counted=counted,
                            reason=reason)
        case = case.model_copy(update={"updates": [*(case.updates or ()), update]})
        ctx.tx.save_case(case)
        word = verdict(message.text)
        if counted and word and case.state is CaseState.SOLUTION_PROPOSED:
            customer_verdict(ctx, case, word, note=f"the customer replied {word.upper()} by mail",
                             texts=texts_of(self.settings, self.cases.links),
                             closes=self.settings.case_accept_closes)
