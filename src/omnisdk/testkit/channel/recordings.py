"""The declaration, recordings and event-attribute tests of the channel suite: rules
``adapter.*``, ``recordings.*`` and ``events.attributes``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ValidationError

from omnisdk.adapters import AccountSettings, ChannelAdapter
from omnisdk.events import TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS
from omnisdk.model import check_channel
from omnisdk.recordings import Recording
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel import expectations as ex
from omnisdk.testkit.channel.checks import SEND_CAPABILITIES, ChannelChecks, listing, parse_outcome
from omnisdk.testkit.checks.events import attribute_problems, event_problems
from omnisdk.testkit.rules import rule

BATCHED_TYPES = frozenset({TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS})
"""Event types of which two about different subjects from one body mean a batch."""


class RecordingChecks(ChannelChecks):
    """Mixin: adapter declaration, capabilities, recordings, expected files, attributes."""

    _omnisdk_kit_class: ClassVar[bool] = True

    # --- adapter.* -----------------------------------------------------------------------

    @rule("adapter.declaration")
    def test_declaration(self) -> None:
        fx, cls, problems = self._fx(), self._fx().adapter_cls, []
        name = getattr(cls, "name", None)
        if not (isinstance(name, str) and name and name.replace("_", "").replace("-", "").isalnum()
                and name == name.lower()):
            problems.append(f"name {name!r} must be a lower-case word (the URL segment and [accounts] table)")
        try:
            check_channel(getattr(cls, "channel", None))  # type: ignore[arg-type]
        except ValueError as exc:
            problems.append(f"channel: {exc}")
        if not (isinstance(cls.Settings, type) and issubclass(cls.Settings, AccountSettings)):
            problems.append("Settings must be an AccountSettings subclass")
        try:
            settings_obj = fx.settings()
            adapter = cls(fx.account, settings_obj)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors(include_input=False))
            fail("adapter.declaration", f"the account settings do not validate ({fields}); check "
                 "example_settings() or the suite's account_settings")
            return
        except Exception as exc:
            fail("adapter.declaration", f"{cls.__name__}(account, settings) raised {type(exc).__name__}: {exc}")
            return
        if adapter.source != f"/{name}/{fx.account}":
            problems.append(f"source is {adapter.source!r}, not /{name}/{fx.account} (call super().__init__)")
        if "inbound" in self.capabilities:
            if fx.recordings_error:
                problems.append(fx.recordings_error)
            for rec in fx.recordings:
                try:
                    headers = fx.sign(adapter, rec.body, rec.content_type)
                except NotImplementedError:
                    problems.append("sign() is not implemented: the kit, replay and the demo sign recordings with it")
                    break
                except Exception as exc:
                    problems.append(f"sign() raised {type(exc).__name__} for recording {rec.name}")
                    continue
                if not (isinstance(headers, dict) and headers
                        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())):
                    problems.append(f"sign() returned {headers!r} for {rec.name}, not a non-empty dict of header strings")
        if any(c in self.capabilities for c in SEND_CAPABILITIES):
            reply = cls.sandbox_reply(1)
            if not isinstance(reply, dict) or reply == cls.sandbox_reply(2):
                problems.append("sandbox_reply(n) must be a dict that differs per n (a provider answer)")
        if problems:
            fail("adapter.declaration", "the adapter class is not usable as declared:" + listing(problems))

    @rule("adapter.capabilities")
    def test_capabilities_match_behaviour(self) -> None:
        fx, caps, problems = self._fx(), set(self.capabilities), []
        cls = fx.adapter_cls
        if not caps:
            problems.append("no capability declared")
        sends = cls.send is not ChannelAdapter.send
        declared_send = [c for c in SEND_CAPABILITIES if c in caps]
        if declared_send and not sends:
            problems.append(f"{declared_send} declared but send() is not implemented")
        if sends and not declared_send:
            problems.append("send() is implemented but no send_text/send_media/send_template is declared")
        shakes = cls.handshake is not ChannelAdapter.handshake
        if "handshake" in caps and not shakes:
            problems.append("handshake declared but handshake() is not implemented")
        if shakes and "handshake" not in caps:
            problems.append("handshake() is implemented but the handshake capability is not declared")
        if "inbound" in caps and not fx.recordings_error:
            with_status = [r.name for r in fx.recordings
                           if any(e.type == TYPE_MESSAGE_STATUS for e in self._safe_parse(r))]
            if "statuses" in caps and not with_status:
                problems.append("statuses declared but no recording parses to io.omnisdk.message.status")
            if with_status and "statuses" not in caps:
                problems.append(f"recordings {with_status[:3]} carry delivery statuses: declare `statuses`")
        elif "statuses" in caps and "inbound" not in caps:
            problems.append("statuses needs inbound")
        problems += self._batch_problems(caps)
        if problems:
            fail("adapter.capabilities", "the declared capabilities do not match the adapter:" + listing(problems))

    def _batch_problems(self, caps: set[str]) -> list[str]:
        """``batches`` must be declared when a ``batch_path`` is, and when one of the plugin's
        own recordings is a batch: a body whose events include two of one type (messages
        received, statuses) about different subjects, i.e. several provider items in one body;
        only then does ``parse.batches`` prove that every item becomes its events."""
        if "batches" in caps:
            return []
        problems = []
        if getattr(self, "batch_path", None):
            problems.append("batch_path is declared but the batches capability is not: declare `batches`")
        fx = self._fx()
        if "inbound" not in caps or fx.recordings_error:
            return problems
        batched = []
        for rec in fx.recordings:
            subjects: dict[str, set[str]] = {}
            for event in self._safe_parse(rec):
                if event.type in BATCHED_TYPES and event.subject:
                    subjects.setdefault(event.type, set()).add(event.subject)
            several = {t: len(s) for t, s in subjects.items() if len(s) > 1}
            if several:
                batched.append(f"{rec.name} ({', '.join(f'{n} x {t}' for t, n in several.items())})")
        if batched:
            problems.append(f"recordings {batched[:3]} hold several provider items in one body: declare "
                            "`batches` and batch_path (where the items are), so parse.batches checks that "
                            "every item becomes its events")
        return problems

    # --- recordings.* --------------------------------------------------------------------

    @rule("recordings.parse")
    def test_recording(self, recording: Recording | None) -> None:
        fx = self._fx()
        if recording is None:
            fail("recordings.parse", fx.recordings_error or "no recordings")
            return
        adapter = fx.adapter()
        request = fx.request(recording, signed_by=adapter)
        try:
            adapter.verify(request)
        except Exception as exc:
            fail("recordings.parse", f"{recording.name}: verify() refused the body signed by sign(): "
                 f"{type(exc).__name__}: {exc}")
        outcome, value = parse_outcome(adapter, request)
        if outcome != "events":
            fail("recordings.parse", f"{recording.name}: parse() raised {type(value).__name__}: {value}")
        problems = event_problems(value, adapter.source)
        path = ex.expected_path(fx.expected_dir, recording.name)
        if not problems and path.exists():
            try:
                patterns = ex.load_expected(path)
            except ValueError as exc:
                fail("recordings.parse", f"{recording.name}: {exc}")
                return
            problems = [f"does not match {path.name}: {m}" for m in ex.match_events(patterns, value)]
        if problems:
            fail("recordings.parse", f"{recording.name}:{listing(problems)}")

    @rule("recordings.expected")
    def test_expected_files_name_recordings(self) -> None:
        fx = self._fx()
        names = {r.name for r in self._recordings("recordings.expected")}
        problems = []
        for name in ex.expected_names(fx.expected_dir):
            if name not in names:
                problems.append(f"expected/{name}.json names no recording (recordings: {sorted(names)[:5]}…)")
                continue
            try:
                ex.load_expected(ex.expected_path(fx.expected_dir, name))
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            fail("recordings.expected", "bad expected-events files:" + listing(problems))

    @rule("recordings.pinned")
    def test_every_recording_is_pinned(self) -> None:
        fx = self._fx()
        missing = [r.name for r in self._recordings("recordings.pinned")
                   if not ex.expected_path(fx.expected_dir, r.name).exists()]
        if missing:
            fail("recordings.pinned", f"{len(missing)} recording(s) have no expected-events file in "
                 f"{fx.expected_dir} (draft them with `python -m omnisdk.testkit.certify.drafts`):"
                 f"{listing(missing)}")

    # --- events.attributes ---------------------------------------------------------------

    @rule("events.attributes")
    def test_event_attributes(self) -> None:
        problems = []
        for rec in self._recordings("events.attributes"):
            problems += [f"{rec.name}: {p}" for p in attribute_problems(self._safe_parse(rec))]
        if problems:
            fail("events.attributes", "events lack attributes:" + listing(problems))

