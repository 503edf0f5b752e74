"""docs/configuration.md's settings table names every setting: a field added to ``Settings``
without its row fails here, so the operator's reference cannot fall behind the code.

A row's first cell names one setting in full (```store.url```) or several of one section, the
first in full and the next by their last part (```webhooks.timeout`, `concurrency```).
``accounts`` has a section of its own (per plugin), and routing's queues and agents their own
tables.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from omnisdk.config import Settings

DOC = Path(__file__).parent.parent / "docs" / "configuration.md"
OWN_SECTIONS = {"accounts", "routing.queues", "routing.agents"}


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The settings section an annotation holds (``X`` or ``X | None``), else None."""
    candidates = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or \
        typing.get_origin(annotation) is typing.Union else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def setting_keys(model: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = prefix + name
        section = _model_of(field.annotation)
        if section is not None and key not in OWN_SECTIONS:
            keys.extend(setting_keys(section, key + "."))
        else:
            keys.append(key)
    return keys


def documented_keys(text: str) -> set[str]:
    found: set[str] = set()
    for first_cell in re.findall(r"^\| ([^|]+) \|", text, re.M):
        names = re.findall(r"`([a-z_.]+)`", first_cell)
        if not names or "." not in names[0]:
            continue
        section = names[0].rsplit(".", 1)[0]
        found.add(names[0])
        found.update(f"{section}.{name}" for name in names[1:] if "." not in name)
    return found


def test_every_setting_has_a_row() -> None:
    documented = documented_keys(DOC.read_text(encoding="utf-8"))
    missing = [key for key in setting_keys() if key not in documented and key not in OWN_SECTIONS]
    assert not missing, f"docs/configuration.md has no row for: {', '.join(missing)}"


def test_the_walk_sees_nested_sections() -> None:
    keys = setting_keys()
    assert "store.url" in keys and "api.oidc.issuer" in keys and "bus.partitions" in keys
    assert documented_keys("| `webhooks.timeout`, `concurrency` | x |") == {"webhooks.timeout", "webhooks.concurrency"}
