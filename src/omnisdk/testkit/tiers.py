"""Quality tiers: ``bronze < silver < gold``.

A suite declares the tier its plugin claims.  Every rule has a tier; the rules at or below the
declared tier are mandatory, the ones above it run as information only.  The tier a plugin
*reaches* is the highest one whose rules all passed (or do not apply to it).
"""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """A quality tier; compare with ``<``/``<=`` (by rank, not alphabetically)."""

    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"

    @property
    def rank(self) -> int:
        """0 for bronze, 1 for silver, 2 for gold."""
        return _ORDER.index(self)

    def __lt__(self, other: object) -> bool:
        return self.rank < Tier(other).rank  # type: ignore[arg-type]

    def __le__(self, other: object) -> bool:
        return self.rank <= Tier(other).rank  # type: ignore[arg-type]

    def __gt__(self, other: object) -> bool:
        return self.rank > Tier(other).rank  # type: ignore[arg-type]

    def __ge__(self, other: object) -> bool:
        return self.rank >= Tier(other).rank  # type: ignore[arg-type]

    __hash__ = StrEnum.__hash__


_ORDER = (Tier.BRONZE, Tier.SILVER, Tier.GOLD)
TIERS: tuple[Tier, ...] = _ORDER
"""Every tier, lowest first."""


def parse_tier(value: object) -> Tier:
    """``"silver"`` (any case) or a :class:`Tier` → :class:`Tier`.

    Raises:
        ValueError: not one of bronze, silver, gold.
    """
    try:
        return Tier(str(value).strip().lower())
    except ValueError:
        raise ValueError(
            f"unknown tier {value!r}: use one of {', '.join(t.value for t in TIERS)}"
        ) from None
