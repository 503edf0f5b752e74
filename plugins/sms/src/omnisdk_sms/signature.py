"""``X-Twilio-Signature`` for the SMS plugin: the code is shared with the ``cti_twilio``
plugin and lives in :mod:`omnisdk_twilio_common.signature` (distribution
``omnisdk-twilio-common``); this module re-exports it under its old name, so
``from omnisdk_sms import signature`` keeps working."""

from __future__ import annotations

from omnisdk_twilio_common.signature import (
    HEADER,
    HEADER_LOWER,
    Decoder,
    compute,
    digest,
    other_port_form,
    sign,
    signed_payload,
    verify,
)

__all__ = ["Decoder", "HEADER", "HEADER_LOWER", "compute", "digest", "other_port_form", "sign",
           "signed_payload", "verify"]
