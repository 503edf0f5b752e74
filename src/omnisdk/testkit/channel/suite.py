"""``ChannelAdapterSuite``: the kit's suite for channel adapters.

A plugin's test module subclasses it and sets class attributes::

    from omnisdk.testkit import ChannelAdapterSuite
    from omnisdk_acme import AcmeAdapter

    class TestAcme(ChannelAdapterSuite):
        adapter = AcmeAdapter
        capabilities = {"inbound", "statuses", "send_text"}
        tier = "silver"

The tests live in mixins: :mod:`~omnisdk.testkit.channel.recordings`,
:mod:`~omnisdk.testkit.channel.signatures`, :mod:`~omnisdk.testkit.channel.delivery` and
:mod:`~omnisdk.testkit.channel.outbound`; the rules and tiers in
:mod:`~omnisdk.testkit.channel.rules`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from omnisdk.adapters import ChannelAdapter
from omnisdk.testkit.base_suite import ContractSuite, describe_subject, subject_problems
from omnisdk.testkit.channel.batches import BatchChecks
from omnisdk.testkit.channel.delivery import DeliveryChecks
from omnisdk.testkit.channel.fixture import ChannelFixture
from omnisdk.testkit.channel.forgeries import ForgeryChecks
from omnisdk.testkit.channel.outbound import OutboundChecks
from omnisdk.testkit.channel.purity import PurityChecks
from omnisdk.testkit.channel.recordings import RecordingChecks
from omnisdk.testkit.channel.round_trip import RoundTripChecks
from omnisdk.testkit.channel.rules import CHANNEL_CAPABILITIES, CHANNEL_RULES
from omnisdk.testkit.channel.signatures import SignatureChecks
from omnisdk.testkit.channel.unknown_values import UnknownValueChecks
from omnisdk.testkit.channel.vectors import VectorChecks
from omnisdk.testkit.rules import RuleBook

_FIXTURES: dict[type, ChannelFixture] = {}


class ChannelAdapterSuite(RecordingChecks, SignatureChecks, VectorChecks, ForgeryChecks, PurityChecks,
                          UnknownValueChecks, BatchChecks, DeliveryChecks, OutboundChecks, RoundTripChecks,
                          ContractSuite):
    """The standard tests of a channel adapter.

    Class attributes (only ``adapter`` is required):
        adapter: the :class:`~omnisdk.adapters.ChannelAdapter` subclass under test.
        account_settings: the account's settings as a dict; default
            ``adapter.example_settings()``.
        account: the account name (default ``"acme"``).
        recordings_dir: folder of recorded payloads; default ``adapter.recordings``.
        expected_dir: folder of expected-events files; default ``<recordings_dir>/expected``
            (layout in :mod:`omnisdk.testkit.channel.expectations`).
        webhook_url: the URL requests are signed for; default
            ``https://hooks.example.test/webhooks/{name}/{account}``.  Keep the path
            ``/webhooks/{name}/{account}``: the downstream checks POST to it.
        capabilities: any of ``inbound``, ``statuses``, ``send_text``, ``send_media``,
            ``send_template``, ``handshake`` (default ``{"inbound"}``).
        tier: ``"bronze"`` (default), ``"silver"`` or ``"gold"``.
        status_order: names of the status recordings in the order the provider sends them
            (needed when the payloads carry no usable timestamp; default: all status
            recordings ordered by their events' ``time``).
        handshake_query: the query parameters of a valid GET handshake (``handshake``).
        send_customer: the recipient of the kit's sends; default the customer of the first
            recorded inbound message.
        fuzz_examples: hypothesis examples per fuzz test (default 50).
        provider_vectors: file of requests signed by the provider or its SDK, with provenance
            (``signature.provider_vectors``); default the ``*.json`` of ``<recordings_dir>/vectors/``.
        signature_scheme: the published scheme the provider signs with, if any: ``"meta_sha256"``,
            ``"twilio"``, ``"line"`` or ``"standard_webhooks"`` (``signature.published_scheme``).
        signing_secrets: names of the account settings that key the signature; default: the
            only secret of the settings (``signature.one_secret``).
        verification_settings: names of non-secret settings that take part in verifying a
            webhook (default none: changing any other setting alone must change nothing;
            ``signature.one_secret``).
        times_from_payload: the events' times come from the payload, so parse() must not read
            the clock (default True; ``parse.pure``).
        redeliveries: ``{recording: recording it redelivers}`` for recordings that are the same
            provider event on purpose (``events.unique_ids``).
        dispatch_fields: where the provider's enum-like values that choose the event type live
            in a body: ``{label: path or [paths changed together]}`` (``parse.unknown_values``;
            format in :mod:`omnisdk.testkit.channel.unknown_values`).
        batch_path: the paths of the lists holding a body's items (``batches``;
            ``parse.batches``; format and merge rule in :mod:`omnisdk.testkit.channel.batches`).
        outbound_mapping: where each field the plugin sends appears in the provider request
            body: ``{field: path or [paths]}`` with fields ``to``, ``text``, ``reply_to``,
            ``media.url``/``.caption``/``.id``/``.filename``, ``template.name``/``.language``/
            ``.components`` and the rich content of ``outbound_content`` (buttons, list menus,
            locations, reactions, contact cards, ``preview_url``), a tuple path for JSON or a
            form parameter name (``outbound.round_trip``; the field list and format in
            :mod:`omnisdk.testkit.channel.round_trip`).
        credential_header: the one request header that carries the account's credentials,
            e.g. ``"authorization"`` (``outbound.credentials``).
        outbound_protocol: ``"http"`` (default: sends go to a respx-mocked provider API) or
            ``"smtp"`` (sends go to the kit's SMTP server on loopback,
            :mod:`omnisdk.testkit.channel.smtp_outbound`).
        smtp_setting: with ``"smtp"``, the settings field holding the SMTP server
            (``host``, ``port``, ``security``, credentials) the kit redirects (default ``smtp``).
        skip_rules: ``{rule id: reason}`` opt-outs (or :func:`omnisdk.testkit.skip_rule`).
    """

    _omnisdk_kit_class: ClassVar[bool] = True
    suite_kind: ClassVar[str] = "channel"
    rulebook: ClassVar[RuleBook] = CHANNEL_RULES
    known_capabilities: ClassVar[frozenset[str]] = CHANNEL_CAPABILITIES

    adapter: ClassVar[type[ChannelAdapter] | None] = None
    account_settings: ClassVar[Mapping[str, Any] | None] = None
    account: ClassVar[str] = "acme"
    recordings_dir: ClassVar[Path | str | None] = None
    expected_dir: ClassVar[Path | str | None] = None
    webhook_url: ClassVar[str | None] = None
    capabilities: ClassVar[Collection[str]] = frozenset({"inbound"})
    tier: ClassVar[str] = "bronze"
    status_order: ClassVar[Sequence[str] | None] = None
    handshake_query: ClassVar[Mapping[str, str] | None] = None
    send_customer: ClassVar[str | None] = None
    fuzz_examples: ClassVar[int] = 50
    provider_vectors: ClassVar[Path | str | None] = None
    signature_scheme: ClassVar[str | None] = None
    signing_secrets: ClassVar[Collection[str] | None] = None
    verification_settings: ClassVar[Collection[str]] = ()
    times_from_payload: ClassVar[bool] = True
    redeliveries: ClassVar[Mapping[str, str]] = {}
    dispatch_fields: ClassVar[Mapping[str, Any] | Sequence[Any]] = ()
    batch_path: ClassVar[Sequence[Sequence[str | int]] | None] = None
    outbound_mapping: ClassVar[Mapping[str, Any] | None] = None
    credential_header: ClassVar[str | None] = None
    outbound_protocol: ClassVar[str] = "http"
    smtp_setting: ClassVar[str] = "smtp"

    @classmethod
    def fixture(cls) -> ChannelFixture:
        """The suite's :class:`ChannelFixture` (built once per suite class)."""
        fx = _FIXTURES.get(cls)
        if fx is None:
            assert cls.adapter is not None, "ChannelAdapterSuite needs `adapter`"
            fx = ChannelFixture.build(
                cls.adapter,
                settings=cls.account_settings,
                account=cls.account,
                recordings_dir=cls.recordings_dir,
                expected_dir=cls.expected_dir,
                webhook_url=cls.webhook_url,
            )
            _FIXTURES[cls] = fx
        return fx

    @classmethod
    def declaration_problems(cls) -> list[str]:
        """:meth:`ContractSuite.declaration_problems`, plus: ``adapter`` is a ChannelAdapter
        subclass; ``fuzz_examples`` is a positive int."""
        return subject_problems(cls.adapter, ChannelAdapter, "adapter", cls.fuzz_examples) \
            + super().declaration_problems()

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The suite's report header, with the adapter's name and channel."""
        return describe_subject(super().describe(), cls.adapter)

    @classmethod
    def parametrize(cls, metafunc: Any) -> None:
        """One ``test_recording`` per recorded payload (ids are the recording names)."""
        if "recording" in metafunc.fixturenames:
            recs = cls.fixture().recordings
            if recs:
                metafunc.parametrize("recording", recs, ids=[r.name for r in recs])
            else:
                metafunc.parametrize("recording", [None], ids=["no-recordings"])
