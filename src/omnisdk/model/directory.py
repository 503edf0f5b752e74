"""The user directory: the people a messaging profile may link an address to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """One person of the user directory (imported with ``omnisdk import directory``, or
    answered by a CRM through ``omnisdk_lookup_requester``): ``id`` the directory's own id,
    ``phones`` in E.164, ``emails`` lower-cased."""

    id: str
    name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


__all__ = ["DirectoryUser"]
