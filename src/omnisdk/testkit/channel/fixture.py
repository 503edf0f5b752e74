"""``ChannelFixture``: what a channel suite needs about its adapter, computed once per suite.

It builds adapters and settings, loads the recordings, and makes (signed) webhook requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import time_machine

from omnisdk.adapters import AccountSettings, ChannelAdapter, WebhookRequest
from omnisdk.events import Event
from omnisdk.recordings import Recording, load

RECEIVED_AT = "2030-01-02T03:04:05Z"
OTHER_RECEIVED_AT = "2031-06-07T08:09:10Z"


@dataclass
class ChannelFixture:
    """The adapter under test and its material.

    Attributes:
        adapter_cls: the adapter class.
        raw_settings: account settings as a dict (before validation).
        account: account name.
        url: the webhook URL requests are made for (and signed with).
        recordings: the recordings, sorted by name.
        recordings_error: why the recordings could not be loaded, if so.
        expected_dir: where the expected-events files live.
    """

    adapter_cls: type[ChannelAdapter]
    raw_settings: dict[str, Any]
    account: str
    url: str
    recordings: list[Recording]
    recordings_error: str | None
    expected_dir: Path
    _parsed: dict[str, list[Event]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        adapter_cls: type[ChannelAdapter],
        *,
        settings: Mapping[str, Any] | None,
        account: str,
        recordings_dir: Path | str | None,
        expected_dir: Path | str | None,
        webhook_url: str | None,
    ) -> ChannelFixture:
        """Resolve the suite's declaration (defaults in :class:`ChannelAdapterSuite`)."""
        raw = dict(settings if settings is not None else adapter_cls.example_settings())
        folder = Path(recordings_dir) if recordings_dir is not None else adapter_cls.recordings
        recs: list[Recording] = []
        error: str | None = None
        if folder is None:
            error = "no recordings folder: set the adapter's `recordings` or the suite's `recordings_dir`"
        else:
            try:
                recs = load(folder)
            except (FileNotFoundError, ValueError) as exc:
                error = f"cannot load recordings from {folder}: {exc}"
            else:
                if not recs:
                    error = f"no recordings (*.json, *.form, *.eml) in {folder}"
        expected = Path(expected_dir) if expected_dir is not None else (
            Path(folder) / "expected" if folder is not None else Path("expected"))
        name = getattr(adapter_cls, "name", "adapter")
        url = webhook_url or f"https://hooks.example.test/webhooks/{name}/{account}"
        return cls(adapter_cls, raw, account, url, recs, error, expected)

    # --- adapters ----------------------------------------------------------------------

    def settings(self, **changes: Any) -> AccountSettings:
        """Validated settings, with ``changes`` applied.  Raises pydantic.ValidationError."""
        return self.adapter_cls.Settings.model_validate({**self.raw_settings, **changes})

    def adapter(self, **changes: Any) -> ChannelAdapter:
        """A fresh adapter object for the account (settings with ``changes``)."""
        return self.adapter_cls(self.account, self.settings(**changes))

    # --- requests ------------------------------------------------------------------------

    def sign(self, adapter: ChannelAdapter, body: bytes, content_type: str, *, url: str | None = None) -> dict[str, str]:
        """``adapter.sign`` for the suite's URL (or ``url``), header names lower-cased, with the
        wall clock frozen at :data:`RECEIVED_AT`: a scheme that signs a timestamp (Standard
        Webhooks, Stripe-like) stamps the instant the kit's requests are received at."""
        with time_machine.travel(RECEIVED_AT, tick=False):
            headers = adapter.sign(url or self.url, body, content_type)
        return {k.lower(): v for k, v in headers.items()}

    def request(
        self,
        rec: Recording,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        signed_by: ChannelAdapter | None = None,
        received_at: str = RECEIVED_AT,
    ) -> WebhookRequest:
        """A POST of ``rec`` (or of ``body`` with its content type); signed over ``rec``'s own
        body by ``signed_by`` when given; ``headers`` added last."""
        hdrs = {"content-type": rec.content_type}
        if signed_by is not None:
            hdrs.update(self.sign(signed_by, rec.body, rec.content_type))
        hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
        return WebhookRequest(
            method="POST", url=self.url, headers=hdrs,
            body=rec.body if body is None else body, received_at=received_at,
        )

    def parsed(self, rec: Recording) -> list[Event]:
        """The events of a recording (cached; parse errors propagate)."""
        if rec.name not in self._parsed:
            self._parsed[rec.name] = self.adapter().parse(self.request(rec))
        return self._parsed[rec.name]
