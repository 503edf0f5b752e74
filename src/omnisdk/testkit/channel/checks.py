"""Shared helpers of the channel suite's test mixins: the fixture accessors, problem
listings, and parse outcomes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings

from omnisdk.adapters import ChannelAdapter, WebhookRequest
from omnisdk.errors import PayloadError, SignatureError
from omnisdk.events import Event
from omnisdk.recordings import Recording
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.fixture import ChannelFixture

SEND_CAPABILITIES = ("send_text", "send_media", "send_template")
_MAX_LISTED = 8


def listing(problems: list[str]) -> str:
    """Problems as indented lines (at most eight, then a count)."""
    shown = problems[:_MAX_LISTED]
    more = f"\n  … and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
    return "\n  " + "\n  ".join(shown) + more


def short(body: bytes, n: int = 60) -> str:
    """The start of a body, for messages."""
    return repr(body[:n]) + ("…" if len(body) > n else "")


def package_of(cls: type) -> str:
    """The top-level package of a class (where compare_digest may have been imported)."""
    return cls.__module__.split(".")[0]


class Violation(AssertionError):
    """Raised inside hypothesis tests; turned into a rule failure after shrinking."""


def fuzz_settings(examples: int) -> settings:
    """Deterministic, quiet hypothesis settings for the kit's fuzz tests."""
    return settings(
        max_examples=examples, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck), print_blob=False,
    )


def parse_outcome(adapter: ChannelAdapter, request: WebhookRequest) -> tuple[str, Any]:
    """``("events", list)``, ``("payload_error", exc)`` or ``("crash", exc)``."""
    try:
        return "events", adapter.parse(request)
    except PayloadError as exc:
        return "payload_error", exc
    except Exception as exc:  # the contract breach the rules look for
        return "crash", exc


def verify_verdict(adapter: ChannelAdapter, request: WebhookRequest) -> tuple[str, BaseException | None]:
    """``("accepted", None)``, ``("refused", SignatureError)`` or ``("raised", other)``."""
    try:
        adapter.verify(request)
    except SignatureError as exc:
        return "refused", exc
    except Exception as exc:  # the contract breach the rules look for
        return "raised", exc
    return "accepted", None


def said(verdict: str, exc: BaseException | None) -> str:
    """What verify() did, for messages: ``accepted it``, ``raised X instead of SignatureError``."""
    if verdict == "accepted":
        return "accepted it"
    if verdict == "raised":
        return f"raised {type(exc).__name__} instead of SignatureError"
    return "refused it"


def unrefused(adapter: ChannelAdapter, request: WebhookRequest, what: str) -> str | None:
    """None when verify() refuses ``request`` with SignatureError; else ``"<what>: verify() …"``."""
    verdict, exc = verify_verdict(adapter, request)
    return None if verdict == "refused" else f"{what}: verify() {said(verdict, exc)}"


class ChannelChecks:
    """Base of the channel suite's test mixins: access to the suite's fixture."""

    _omnisdk_kit_class: ClassVar[bool] = True
    fixture: ClassVar[Callable[[], ChannelFixture]]
    capabilities: ClassVar[Any]
    status_order: ClassVar[Any]
    handshake_query: ClassVar[Any]
    fuzz_examples: ClassVar[int]

    def _fx(self) -> ChannelFixture:
        return type(self).fixture()

    def _recordings(self, rule_id: str) -> list[Recording]:
        fx = self._fx()
        if fx.recordings_error:
            fail(rule_id, fx.recordings_error)
        return fx.recordings

    def _parsed(self, rule_id: str, rec: Recording) -> list[Event]:
        try:
            return self._fx().parsed(rec)
        except Exception as exc:
            fail(rule_id, f"recording {rec.name}: parse() raised {type(exc).__name__}: {exc}")
            raise  # unreachable

    def _safe_parse(self, rec: Recording) -> list[Event]:
        try:
            return self._fx().parsed(rec)
        except Exception:
            return []

