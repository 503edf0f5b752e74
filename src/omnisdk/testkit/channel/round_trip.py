"""The channel suite's tests of outbound round-trips against the declared mapping, and where
credentials travel: rules ``outbound.round_trip`` and ``outbound.credentials``.

Both send the kit's messages (``text_message``, ``media_message``, ``template_message`` of
:class:`~omnisdk.testkit.channel.outbound.OutboundChecks`) against the respx-mocked provider API
(:mod:`omnisdk.testkit.checks.provider_api`), answered 200, and read the captured request(s).

**outbound.round_trip.**  For each declared send capability (``send_text``, ``send_media``,
``send_template``) the kit sends its message of that kind and checks that every field the
message carries is in the request body where ``outbound_mapping`` says.  The format::

    outbound_mapping = {
        "to": "To",                                   # a form parameter
        "text": ("text", "body"),                     # a JSON path
        "media.url": [("image", "link"), ("video", "link")],   # any of these paths
        "media.caption": ("image", "caption"),
        "template.name": ("template", "name"),
        "template.language": ("template", "language", "code"),
    }

- keys (:data:`FIELDS`) are the fields of :class:`~omnisdk.adapters.OutboundMessage` the kit's
  messages carry: ``to`` (``customer``, the recipient), ``text``, ``reply_to``,
  ``preview_url``, ``media.url``, ``media.caption``, ``media.id`` and ``media.filename`` (of
  the message's one :class:`~omnisdk.adapters.OutboundMedia`), ``template.name``,
  ``template.language`` and ``template.components`` (of its
  :class:`~omnisdk.adapters.Template`), and the rich content: ``buttons.id``/``.title``,
  ``list_menu.button``/``.section.title``/``.row.id``/``.row.title``/``.row.description``,
  ``location.latitude``/``.longitude``/``.name``/``.address``,
  ``reaction.message_id``/``.emoji``, ``contacts.name``/``.phone``/``.email``;
- a value is a path into the request body, in the format of
  :mod:`omnisdk.testkit.checks.body_paths`: a **tuple** of steps for a JSON body (``str`` keys,
  ``int`` list indices, ``"*"`` for every item), a **str** for a form parameter
  (``application/x-www-form-urlencoded``; a one-key JSON path too); a **list** of such paths
  when the value may be at any of them (a list is never one path: write paths as tuples);
- ``None`` declares that the provider's API has no place for an optional field
  (:data:`MAY_BE_UNSENT`: ``media.caption``, ``template.language``); say why, citing the
  provider's documentation, in a comment.  The primary content (``text``, ``media.url``,
  ``template.name``) and the recipient can never be declared unsent.

Besides its text, media and template messages (one per declared send capability), the kit
sends one **extra message** per feature the plugin says it can send (:data:`EXTRAS`): a reply
(``reply_to``) and, with ``send_media``, an image by media id and a document with a file name,
with ``send_template`` a template with components, and one message for each rich content the
adapter lists in :attr:`~omnisdk.adapters.ChannelAdapter.outbound_content` (a link preview,
two reply buttons, a list menu, a location, a reaction, a contact card).  Every field of such a
message must be declared (a path, or ``None`` for the optional ones of :data:`MAY_BE_UNSENT`);
the message is sent when its key field (:data:`EXTRA_KEY`) has a path, and then each of its
values must be in the request: every button, row and contact, not only the first.

A value must equal the message's exactly (compared as strings; coordinates as numbers,
``preview_url`` as ``true``, template components as equal JSON); the recipient and a contact's
phone, when E.164 (``+15550100002``), are compared by their digits, so ``15550100002`` and
``whatsapp:+15550100002`` match it.  Every content field the message carries (:data:`CONTENT`)
must be declared: one the mapping omits fails with "declare where <field> goes in
outbound_mapping", so a plugin cannot drop content unnoticed.  ``to`` is checked when declared.
A send that makes several requests (an upload, then the message) is searched in all of their
bodies; a body that is neither JSON nor a form cannot be checked and fails the rule.
Without ``outbound_mapping`` the rule fails; it does not apply without a send capability.

**outbound.credentials.**  ``credential_header`` names the one request header that carries
the account's credentials (``"authorization"``: a Bearer token, HTTP Basic).  The kit sends a
text and checks, for every secret value of the account settings
(:func:`~omnisdk.testkit.checks.leaks.secret_values`: the API token, and the webhook signing
secret, which is never sent at all), that the value, URL-encoded or base64-encoded, is
nowhere in the URL (path and query), the body or any header other than the declared one (a
``Basic`` value of another header is decoded and searched too); and that the declared header
is on the request.  Whatever the declared header holds is accepted there.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus, unquote_plus

import httpx
from pydantic import BaseModel

from omnisdk.adapters import (
    ContactCard,
    ListMenu,
    ListRow,
    ListSection,
    Location,
    OutboundMedia,
    OutboundMessage,
    Reaction,
    ReplyButton,
    Template,
)
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import SEND_CAPABILITIES, ChannelChecks, listing
from omnisdk.testkit.checks.body_paths import MIME, WILDCARD, Body, Path, as_path, show
from omnisdk.testkit.checks.leaks import secret_values
from omnisdk.testkit.checks.provider_api import Reply, SendRun, describe_error, run_send
from omnisdk.testkit.checks.smtp_api import SmtpReply
from omnisdk.testkit.rules import Rule, rule

FIELDS: dict[str, str] = {
    "to": "the recipient (OutboundMessage.customer)",
    "text": "OutboundMessage.text",
    "reply_to": "OutboundMessage.reply_to (the provider id of the message answered)",
    "preview_url": "OutboundMessage.preview_url (true)",
    "media.url": "OutboundMessage.media[0].url",
    "media.caption": "OutboundMessage.media[0].caption",
    "media.id": "OutboundMessage.media[0].media_id",
    "media.filename": "OutboundMessage.media[0].filename",
    "template.name": "OutboundMessage.template.name",
    "template.language": "OutboundMessage.template.language",
    "template.components": "OutboundMessage.template.components (the whole list, as JSON)",
    "buttons.id": "OutboundMessage.buttons[*].id",
    "buttons.title": "OutboundMessage.buttons[*].title",
    "list_menu.button": "OutboundMessage.list_menu.button",
    "list_menu.section.title": "OutboundMessage.list_menu.sections[*].title",
    "list_menu.row.id": "OutboundMessage.list_menu.sections[*].rows[*].id",
    "list_menu.row.title": "OutboundMessage.list_menu.sections[*].rows[*].title",
    "list_menu.row.description": "OutboundMessage.list_menu.sections[*].rows[*].description",
    "location.latitude": "OutboundMessage.location.latitude",
    "location.longitude": "OutboundMessage.location.longitude",
    "location.name": "OutboundMessage.location.name",
    "location.address": "OutboundMessage.location.address",
    "reaction.message_id": "OutboundMessage.reaction.message_id",
    "reaction.emoji": "OutboundMessage.reaction.emoji",
    "contacts.name": "OutboundMessage.contacts[*].name",
    "contacts.phone": "OutboundMessage.contacts[*].phones[*]",
    "contacts.email": "OutboundMessage.contacts[*].emails[*]",
}
"""The keys ``outbound_mapping`` may have, with the field of the message each names."""

CONTENT = frozenset(FIELDS) - {"to"}
"""The fields that must be declared whenever the kit's message carries them."""

MAY_BE_UNSENT = frozenset({
    "media.caption", "template.language", "reply_to", "media.id", "media.filename",
    "template.components", "list_menu.section.title", "list_menu.row.description",
    "location.name", "location.address", "contacts.phone", "contacts.email",
})
"""The fields ``outbound_mapping`` may declare ``None`` (the provider has no place for them):
say why, citing the provider's documentation, in a comment."""

EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    # the kit's extra message: (the fields it checks); sent when its condition holds (EXTRAS)
    "reply": ("text", "reply_to"),
    "link preview": ("text", "preview_url"),
    "media by id": ("media.id",),
    "document with a file name": ("media.url", "media.filename"),
    "template with components": ("template.name", "template.components"),
    "reply buttons": ("buttons.id", "buttons.title"),
    "list menu": ("list_menu.button", "list_menu.section.title", "list_menu.row.id",
                  "list_menu.row.title", "list_menu.row.description"),
    "location": ("location.latitude", "location.longitude", "location.name", "location.address"),
    "reaction": ("reaction.message_id", "reaction.emoji"),
    "contact card": ("contacts.name", "contacts.phone", "contacts.email"),
}
"""The fields each of the kit's extra messages (:func:`extra_message`) checks."""

EXTRA_KEY: dict[str, str] = {
    "reply": "reply_to", "link preview": "preview_url", "media by id": "media.id",
    "document with a file name": "media.filename", "template with components": "template.components",
    "reply buttons": "buttons.id", "list menu": "list_menu.row.id", "location": "location.latitude",
    "reaction": "reaction.message_id", "contact card": "contacts.name",
}
"""The field whose declared path makes the kit send each extra message (declared ``None``: the
provider cannot carry it, so the message is not sent)."""

EXTRAS: dict[str, tuple[str, str]] = {
    # message: ("capability" or "content", the name that makes it apply)
    "reply": ("capability", "send_text"),
    "link preview": ("content", "preview_url"),
    "media by id": ("capability", "send_media"),
    "document with a file name": ("capability", "send_media"),
    "template with components": ("capability", "send_template"),
    "reply buttons": ("content", "buttons"),
    "list menu": ("content", "list_menu"),
    "location": ("content", "location"),
    "reaction": ("content", "reaction"),
    "contact card": ("content", "contacts"),
}
"""When each extra message applies: a declared send capability, or a content name in the
adapter's :attr:`~omnisdk.adapters.ChannelAdapter.outbound_content`."""

KIT_COMPONENTS = [{"type": "body", "parameters": [{"type": "text", "text": "kit-parameter-1"}]}]


def extra_message(kind: str, customer: str) -> OutboundMessage:
    """The kit's message of one :data:`EXTRAS` kind, to ``customer`` (made-up values that are
    easy to find in a request)."""
    text = "Hello from the omnisdk test kit"
    if kind == "reply":
        return OutboundMessage(customer=customer, text=text, reply_to="kit-replied-message-0001")
    if kind == "link preview":
        return OutboundMessage(customer=customer, text="See https://example.test/kit", preview_url=True)
    if kind == "media by id":
        return OutboundMessage(customer=customer, media=[OutboundMedia(media_type="image",
                                                                       media_id="kit-media-id-0001")])
    if kind == "document with a file name":
        return OutboundMessage(customer=customer, media=[OutboundMedia(
            media_type="document", url="https://media.example.test/testkit.pdf", filename="testkit.pdf")])
    if kind == "template with components":
        return OutboundMessage(customer=customer, template=Template(
            name="testkit_template", language="en_US", components=KIT_COMPONENTS))
    if kind == "reply buttons":
        return OutboundMessage(customer=customer, text=text, buttons=[
            ReplyButton(id="kit-button-yes", title="Kit yes"), ReplyButton(id="kit-button-no", title="Kit no")])
    if kind == "list menu":
        return OutboundMessage(customer=customer, text=text, list_menu=ListMenu(button="Kit menu", sections=[
            ListSection(title="Kit section", rows=[
                ListRow(id="kit-row-1", title="Kit row one", description="Kit first row"),
                ListRow(id="kit-row-2", title="Kit row two")])]))
    if kind == "location":
        return OutboundMessage(customer=customer, location=Location(
            latitude=52.3731, longitude=4.8922, name="Kit place", address="1 Kit Street"))
    if kind == "reaction":
        return OutboundMessage(customer=customer, reaction=Reaction(message_id="kit-reacted-message-0001",
                                                                    emoji="\U0001f44d"))
    if kind == "contact card":
        return OutboundMessage(customer=customer, contacts=[ContactCard(
            name="Kit Contact", phones=["+15550100009"], emails=["kit.contact@example.test"])])
    raise ValueError(f"no kit message {kind!r}")


MESSAGES = {"send_text": "text_message", "send_media": "media_message",
            "send_template": "template_message"}
"""The kit's message method for each send capability."""

DECLARE_MAPPING = (
    "declare outbound_mapping = {'<field>': <path in the request body>, ...}: where each field "
    "of the message goes in the provider's request, e.g. {'to': ('to',), 'text': ('text', "
    "'body')} for a JSON body or {'to': 'To', 'text': 'Body'} for a form; fields: "
    + ", ".join(FIELDS) + "; a list of paths when the value may be at any of them "
    "(format in omnisdk.testkit.channel.round_trip)"
)
DECLARE_HEADER = (
    "declare credential_header = '<header>': the one request header that carries the account's "
    "credentials (e.g. 'authorization' for a Bearer token or HTTP Basic), as the provider's API "
    "reference says"
)
_E164 = re.compile(r"\+?[0-9]{6,15}")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name (RFC 9110 token)."""
_MISSING = object()


def mapping_entries(declared: Any) -> tuple[dict[str, list[Path] | None], list[str]]:
    """``({field: paths, or None for "not sent"}, problems)`` from an ``outbound_mapping``
    (format in the module docstring); the problems say what is wrong with each entry."""
    if not isinstance(declared, Mapping):
        return {}, [f"outbound_mapping must be a mapping of field to path, not {type(declared).__name__}"]
    out: dict[str, list[Path] | None] = {}
    problems: list[str] = []
    for field, where in declared.items():
        if field not in FIELDS:
            problems.append(f"outbound_mapping names {field!r}, which is not one of {list(FIELDS)}")
            continue
        if where is None:
            if field not in MAY_BE_UNSENT:
                problems.append(f"outbound_mapping[{field!r}] is None, but {field} is always sent: "
                                "say where it goes in the request body")
            else:
                out[field] = None
            continue
        candidates = where if isinstance(where, list) else [where]
        paths = [as_path(p) if isinstance(p, (str, tuple)) else None for p in candidates]
        if not candidates or any(p is None for p in paths):
            problems.append(f"outbound_mapping[{field!r}] = {where!r} is not a path: use a tuple of "
                            "JSON keys/indices, a form parameter name, or a list of those")
            continue
        out[field] = [p for p in paths if p is not None]
    return out, problems


def carried(message: OutboundMessage) -> dict[str, list[Any]]:
    """``{field: [values]}`` of the :data:`FIELDS` that ``message`` carries (not None, not
    empty); a list field (buttons, rows, contacts) gives every value, each of which the
    request must hold."""
    media = message.media[0] if message.media else None
    template, menu, loc, reaction = message.template, message.list_menu, message.location, message.reaction
    sections = menu.sections if menu else []
    rows = [r for sec in sections for r in sec.rows]
    values: dict[str, list[Any]] = {
        "to": [message.customer],
        "text": [message.text],
        "reply_to": [message.reply_to],
        "preview_url": [True] if message.preview_url else [],
        "media.url": [media.url if media else None],
        "media.caption": [media.caption if media else None],
        "media.id": [media.media_id if media else None],
        "media.filename": [media.filename if media else None],
        "template.name": [template.name if template else None],
        "template.language": [template.language if template else None],
        "template.components": [template.components] if template and template.components else [],
        "buttons.id": [b.id for b in message.buttons],
        "buttons.title": [b.title for b in message.buttons],
        "list_menu.button": [menu.button if menu else None],
        "list_menu.section.title": [sec.title for sec in sections],
        "list_menu.row.id": [r.id for r in rows],
        "list_menu.row.title": [r.title for r in rows],
        "list_menu.row.description": [r.description for r in rows],
        "location.latitude": [loc.latitude if loc else None],
        "location.longitude": [loc.longitude if loc else None],
        "location.name": [loc.name if loc else None],
        "location.address": [loc.address if loc else None],
        "reaction.message_id": [reaction.message_id if reaction else None],
        "reaction.emoji": [reaction.emoji if reaction else None],
        "contacts.name": [c.name for c in message.contacts],
        "contacts.phone": [p for c in message.contacts for p in c.phones],
        "contacts.email": [e for c in message.contacts for e in c.emails],
    }
    out = {}
    for field, found in values.items():
        kept = [v for v in found if v is not None and v != ""]
        if kept:
            out[field] = kept
    return out


def values_at(body: Body, path: Path) -> list[Any]:
    """Every value ``path`` selects in ``body`` (a form parameter may repeat: each value)."""
    if body.kind == "form":
        return [v for k, v in body.doc if (k,) == path]
    if WILDCARD in path:
        return [body.get(p) for p in body.matches(path)]
    value = body.get(path, _MISSING)
    return [] if value is _MISSING else [value]


def same(field: str, want: Any, got: Any) -> bool:
    """Whether a request value is the message's: the recipient and contact phones by their
    digits when E.164, coordinates as numbers, ``preview_url`` as true (``true`` in a form),
    template components as equal JSON, everything else as equal strings."""
    if field == "template.components":
        return got == want
    if field == "preview_url":
        return got is True or (isinstance(got, str) and got.lower() == "true")
    if isinstance(got, bool) or not isinstance(got, (str, int, float)):
        return False
    if field.startswith("location.l"):
        try:
            return abs(float(got) - float(want)) < 1e-9
        except ValueError:
            return False
    if field in ("to", "contacts.phone") and _E164.fullmatch(str(want)):
        return re.sub(r"\D", "", str(got)) == str(want).lstrip("+")
    return str(got) == str(want)


def decode_body(request: httpx.Request) -> Body:
    """The request's body, decoded by its content type (``opaque`` when not JSON or a form)."""
    return Body.decode(request.content, request.headers.get("content-type", ""))


def secret_forms(secret: str) -> dict[str, str]:
    """``{form: text}``: the secret as is, URL-encoded and base64-encoded (the forms a
    request may carry it in)."""
    raw = secret.encode()
    forms = {
        "as is": secret,
        "URL-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "base64-encoded": base64.b64encode(raw).decode(),
        "base64url-encoded": base64.urlsafe_b64encode(raw).decode(),
    }
    forms["base64-encoded (unpadded)"] = forms["base64-encoded"].rstrip("=")
    out: dict[str, str] = {}
    for name, text in forms.items():
        if len(text) >= 4 and text not in out.values():
            out[name] = text
    return out


def secret_names(settings: Any) -> dict[str, str]:
    """``{secret value: the settings holding it}`` for messages."""
    names: dict[str, list[str]] = {}
    fields = type(settings).model_fields if isinstance(settings, BaseModel) else {}
    for name in fields:
        for value in secret_values(getattr(settings, name)):
            names.setdefault(value, []).append(name)
    return {value: " / ".join(found) for value, found in names.items()}


def _basic_decoded(value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        return base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def request_places(request: httpx.Request, credential_header: str) -> list[tuple[str, list[str]]]:
    """``[(where, texts)]``: the places of a request a credential must not be, each with the
    texts searched there (raw and decoded)."""
    url = str(request.url)
    body = request.content.decode("utf-8", "replace")
    decoded = decode_body(request)
    leaves = [str(v) for _, v in decoded.leaves()] if decoded.kind != "opaque" else []
    places = [("the URL", [url, unquote_plus(url)]), ("the body", [body, unquote_plus(body), *leaves])]
    for name, value in request.headers.items():
        if name.lower() == credential_header.lower():
            continue
        texts = [value, unquote_plus(value)]
        basic = _basic_decoded(value)
        if basic is not None:
            texts.append(basic)
        places.append((f"header {name}", texts))
    return places


class RoundTripChecks(ChannelChecks):
    """Mixin: sent fields land where ``outbound_mapping`` says; credentials travel only in
    ``credential_header`` (formats in the module docstring)."""

    _omnisdk_kit_class: ClassVar[bool] = True
    outbound_mapping: ClassVar[Any]
    credential_header: ClassVar[Any]
    outbound_protocol: ClassVar[str]
    _smtp: Any

    @classmethod
    def not_applicable(cls, rule: Rule) -> str | None:
        """``outbound.round_trip`` and ``outbound.credentials`` without a send capability."""
        if rule.id in ("outbound.round_trip", "outbound.credentials") \
                and not set(SEND_CAPABILITIES) & set(cls.capabilities):
            return "no send capability declared (send_text, send_media, send_template)"
        return super().not_applicable(rule)  # type: ignore[misc]

    @classmethod
    def declaration_problems(cls) -> list[str]:
        """A malformed ``outbound_mapping`` or ``credential_header`` is a declaration problem
        (a missing one fails its rule instead)."""
        problems = super().declaration_problems()  # type: ignore[misc]
        if cls.outbound_mapping is not None:
            problems += mapping_entries(cls.outbound_mapping)[1]
        header = cls.credential_header
        if header is not None and not (isinstance(header, str) and _TOKEN.fullmatch(header)):
            problems.append(f"credential_header must be one header name (e.g. 'authorization'), not {header!r}")
        return problems

    def _kit_message(self, capability: str) -> OutboundMessage:
        message: OutboundMessage = getattr(self, MESSAGES[capability])()
        return message

    def _run(self, message: OutboundMessage) -> SendRun:
        fx = self._fx()
        return run_send(fx.adapter, message, [Reply(200, json=fx.adapter_cls.sandbox_reply(1))])

    # --- outbound.round_trip ---------------------------------------------------------------

    @rule("outbound.round_trip")
    def test_round_trip_fields_land_where_the_mapping_says(self) -> None:
        rid = "outbound.round_trip"
        if self.outbound_mapping is None:
            fail(rid, f"no outbound_mapping: {DECLARE_MAPPING}")
            return
        mapping, problems = mapping_entries(self.outbound_mapping)
        if problems:
            fail(rid, "bad outbound_mapping:" + listing(problems + [DECLARE_MAPPING]))
        declared = [c for c in SEND_CAPABILITIES if c in set(self.capabilities)]
        for capability in declared:
            message = self._kit_message(capability)
            problems += self._round_trip_problems(capability.removeprefix("send_"), message, mapping,
                                                  tuple(carried(message)))
        for kind in self._extras(declared):
            problems += self._extra_problems(kind, mapping)
        if problems:
            fail(rid, "every field of the message must be in the provider request where "
                 "outbound_mapping says (paths into the request body):" + listing(problems))

    def _extras(self, capabilities: Sequence[str]) -> list[str]:
        """The kinds of :data:`EXTRAS` that apply: a declared capability, or a content name the
        adapter lists in ``outbound_content``."""
        content = set(getattr(self._fx().adapter_cls, "outbound_content", ()) or ())
        return [kind for kind, (what, name) in EXTRAS.items()
                if (name in capabilities if what == "capability" else name in content)]

    def _extra_problems(self, kind: str, mapping: dict[str, list[Path] | None]) -> list[str]:
        """One extra message: every field it checks must be declared; sent (and checked) when
        at least one of them has a path."""
        fields = EXTRA_FIELDS[kind]
        message = extra_message(kind, self._customer())  # type: ignore[attr-defined]
        have = carried(message)
        missing = [f for f in fields if f in have and f not in mapping]
        problems = []
        for field in missing:
            none = " or None when the provider's API has no place for it" if field in MAY_BE_UNSENT else ""
            problems.append(f"{kind} send: {field} ({FIELDS[field]}) can be sent (its capability or "
                            f"outbound_content is declared): declare where it goes in outbound_mapping{none}")
        checked = tuple(f for f in fields if f in have and mapping.get(f))
        if not checked or not mapping.get(EXTRA_KEY[kind]):
            return problems
        return problems + self._round_trip_problems(kind, message, mapping, checked)

    def _round_trip_problems(self, kind: str, message: OutboundMessage,
                             mapping: dict[str, list[Path] | None], fields: tuple[str, ...]) -> list[str]:
        if self.outbound_protocol == "smtp":  # the mails the kit's SMTP server received
            smtp_run = self._smtp([SmtpReply()], message)
            if not smtp_run.mails:
                return [f"{kind} send: no mail reached the SMTP server (send() ended with "
                        f"{describe_error(smtp_run.error)})"]
            bodies = [Body.decode(mail, MIME) for mail in smtp_run.mails]
            run = None
        else:
            run = self._run(message)
            if not run.requests:
                return [f"{kind} send: no request reached the provider (send() ended with "
                        f"{describe_error(run.error)}; outbound_mapping declares where its fields go)"]
            bodies = [decode_body(r) for r in run.requests]
        readable = [b for b in bodies if b.kind != "opaque"]
        if not readable:
            ctype = run.requests[0].headers.get("content-type", "none") if run else MIME
            return [f"{kind} send: the request body (content type {ctype}) is neither JSON nor a form, "
                    "so the kit cannot read it (skip the rule with a reason if the provider takes "
                    "another format)"]
        problems: list[str] = []
        values = carried(message)
        for field in ("to", *fields) if "to" not in fields else fields:
            if field not in values:
                continue
            if field not in mapping:
                if field in CONTENT:
                    problems.append(f"{kind} send: the message carries {field} {values[field][0]!r}: declare "
                                    f"where {field} goes in outbound_mapping"
                                    f"{self._found_at(readable, field, values[field][0])}")
                continue
            paths = mapping[field]
            if paths is None:
                continue  # declared: the provider's API has no place for it
            got = [v for b in readable for p in paths for v in values_at(b, p)]
            for want in values[field]:
                if any(same(field, want, v) for v in got):
                    continue
                where = " or ".join(show(p) for p in paths)
                seen = f"found {', '.join(repr(v) for v in got[:3])}" if got else "nothing there"
                problems.append(f"{kind} send: {field} {want!r} is not at {where} ({seen})"
                                + self._found_at(readable, field, want))
        return problems

    @staticmethod
    def _found_at(bodies: Sequence[Body], field: str, want: Any) -> str:
        """``"; the request has it at <path>"`` when the value is elsewhere in a body."""
        for body in bodies:
            for path, value in body.leaves():
                if same(field, want, value):
                    return f"; the request has it at {show(path)}"
        return ""

    # --- outbound.credentials ---------------------------------------------------------------

    @rule("outbound.credentials")
    def test_credentials_travel_only_in_the_declared_header(self) -> None:
        rid, fx = "outbound.credentials", self._fx()
        header = self.credential_header
        if self.outbound_protocol == "smtp":
            return self._smtp_credentials(rid, fx)
        if not header:
            fail(rid, f"no credential_header: {DECLARE_HEADER}")
            return
        settings = fx.settings()
        names = secret_names(settings)
        secrets = secret_values(settings)
        run = self._run(self._kit_message("send_text"))
        if not run.requests:
            fail(rid, f"a text send made no request (send() ended with {describe_error(run.error)}; "
                 "see outbound.send_text)")
            return
        problems: list[str] = []
        for i, request in enumerate(run.requests, start=1):
            label = f"request {i} ({request.method} {request.url.path})"
            if not request.headers.get(header):
                problems.append(f"{label} has no {header} header: send the credentials in it (headers "
                                f"sent: {', '.join(sorted(request.headers)) or 'none'})")
            for where, texts in request_places(request, header):
                for secret in secrets:
                    for form, text in secret_forms(secret).items():
                        if any(text in t for t in texts):
                            setting = f"the secret setting {names[secret]}" if secret in names \
                                else "a secret of the settings"
                            problems.append(f"{label}: {where} carries the value of {setting} ({form})")
                            break
        if problems:
            fail(rid, f"credentials travel only in the declared {header} header; the URL (it ends up "
                 "in proxy and server logs), the body and other headers never carry a secret, and "
                 "the webhook signing secret is never sent at all:" + listing(list(dict.fromkeys(problems))))

    def _smtp_credentials(self, rid: str, fx: Any) -> None:
        """SMTP: credentials travel in the AUTH exchange only; no secret setting is in a mail
        (headers or body, as is or encoded) nor in its envelope."""
        settings = fx.settings()
        names = secret_names(settings)
        run = self._smtp([SmtpReply()], self._kit_message("send_text"))
        if not run.mails:
            fail(rid, f"a text send delivered no mail (send() ended with {describe_error(run.error)}; "
                 "see outbound.send_text)")
        problems: list[str] = []
        for i, (mail, (sender, rcpt)) in enumerate(zip(run.mails, run.envelopes, strict=True), start=1):
            text = mail.decode("utf-8", "replace")
            places = [("the mail", [text, unquote_plus(text)]), ("the envelope", [sender, *rcpt])]
            for where, texts in places:
                for secret in secret_values(settings):
                    for form, encoded in secret_forms(secret).items():
                        if any(encoded in t for t in texts):
                            problems.append(f"mail {i}: {where} carries the value of the secret setting "
                                            f"{names.get(secret, '?')} ({form})")
                            break
        if problems:
            fail(rid, "credentials travel only in the SMTP AUTH exchange, never in a mail or its "
                 "envelope:" + listing(list(dict.fromkeys(problems))))
