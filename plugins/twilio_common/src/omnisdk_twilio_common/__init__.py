"""What the omnisdk Twilio plugins share (``omnisdk-sms``, ``omnisdk-cti-twilio``).

- :mod:`omnisdk_twilio_common.signature`: compute and verify ``X-Twilio-Signature``
  (twilio.com/docs/usage/webhooks/webhooks-security);
- :mod:`omnisdk_twilio_common.forms`: strict decoding of Twilio's form-encoded webhook bodies;
- :mod:`omnisdk_twilio_common.settings`: ``TwilioAccountSettings`` (``account_sid``,
  ``auth_token``, ``api_base_url`` and their checks), the base of both plugins' settings.

This distribution is a library, not a plugin: it declares no ``omnisdk`` entry point, so the
plugin loader, ``omnisdk plugins`` and ``omnisdk certify`` never see it.
"""
