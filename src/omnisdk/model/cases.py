"""Cases: longer investigation records that interactions link to."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Case(BaseModel):
    """A case, numbered for humans (``CS0000011``).  Timestamps are UTC."""

    id: str
    number: str = Field(pattern=r"^CS\d{7,}$")
    subject: str
    customer: str
    interaction_ids: list[str] = Field(default_factory=list)
    created_at: datetime
