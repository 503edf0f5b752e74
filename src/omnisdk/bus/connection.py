"""Connecting to NATS and declaring the JetStream streams ``[bus]`` names (nats-py).

:func:`connect` opens one client and makes sure both streams exist with the settings' subjects
and duplicate window (created when missing, their subjects and window updated when they differ;
a stream is never deleted).  It needs the ``nats`` extra (``pip install 'omnisdk[nats]'``,
nats-py); :mod:`omnisdk.bus` itself and its settings import without it.  Errors reach callers as :class:`BusError`, whose message never
holds the credentials path's content or the server's auth error detail beyond its class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nats
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from omnisdk.bus.settings import BusSettings
from omnisdk.errors import OmniError


class BusError(OmniError):
    """The bus could not be reached, or refused a stream declaration or a publish."""


@dataclass
class Bus:
    """An open NATS client (``nc``) and its JetStream context (``js``)."""

    settings: BusSettings
    nc: Any
    js: Any

    async def close(self) -> None:
        try:
            await self.nc.drain()
        except Exception:  # noqa: BLE001 - closing a broken connection
            await self.nc.close()


def _stream_configs(settings: BusSettings) -> list[Any]:
    return [
        StreamConfig(name=settings.inbox_stream, subjects=[f"{settings.inbox_subject}.*"],
                     duplicate_window=settings.duplicate_window),
        StreamConfig(name=settings.events_stream, subjects=[f"{settings.events_subject}.>"],
                     duplicate_window=settings.duplicate_window),
    ]


async def declare_streams(js: Any, settings: BusSettings) -> None:
    """Create both streams, or update their subjects and duplicate window when they differ
    (idempotent).  An update keeps the rest of the stream's configuration (limits an operator
    set: ``max_age``, ``max_bytes``, replicas …)."""
    for config in _stream_configs(settings):
        try:
            info = await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
            continue
        current = info.config
        if current.subjects != config.subjects or current.duplicate_window != config.duplicate_window:
            current.subjects, current.duplicate_window = config.subjects, config.duplicate_window
            await js.update_stream(current)


async def connect(settings: BusSettings, *, declare: bool = True, **options: Any) -> Bus:
    """Connect to ``settings.servers`` and (by default) declare the streams.

    ``options`` go to ``nats.connect`` (``reconnected_cb``, ``max_reconnect_attempts`` …);
    by default the client reconnects forever, 0.5 s apart.

    Raises:
        BusError: no server answered within ``connect_timeout`` seconds, or the stream
            declaration was refused.
        ValueError: ``[bus] url`` is unset.
    """
    if not settings.enabled:
        raise ValueError("[bus] url is not set")
    kwargs: dict[str, Any] = {
        "servers": settings.servers, "connect_timeout": settings.connect_timeout,
        "max_reconnect_attempts": -1, "reconnect_time_wait": 0.5, "allow_reconnect": True,
    }
    if settings.credentials:
        kwargs["user_credentials"] = settings.credentials
    kwargs.update(options)
    try:
        nc = await nats.connect(**kwargs)
    except Exception as exc:  # noqa: BLE001 - nats raises several unrelated classes
        raise BusError(f"NATS at {', '.join(settings.servers)} did not answer: {type(exc).__name__}") from None
    js = nc.jetstream(timeout=settings.publish_timeout)
    if declare:
        try:
            await declare_streams(js, settings)
        except Exception as exc:  # noqa: BLE001
            await nc.close()
            raise BusError(f"JetStream refused the stream declaration: {type(exc).__name__}: {exc}") from None
    return Bus(settings, nc, js)
