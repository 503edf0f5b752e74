"""Strict decoding of Twilio's ``application/x-www-form-urlencoded`` webhook bodies: the code is
shared with the ``cti_twilio`` plugin and lives in :mod:`omnisdk_twilio_common.forms`
(``decode_form`` returns and refuses exactly what ``urllib.parse.parse_qsl(text,
keep_blank_values=True, strict_parsing=True, errors="strict", max_num_fields=MAX_FIELDS)``
does); this module re-exports it under its old name."""

from __future__ import annotations

from omnisdk_twilio_common.forms import MAX_FIELDS, decode_form

__all__ = ["MAX_FIELDS", "decode_form"]
