"""The omnisdk test kit's declaration for this plugin: tier, capabilities, and the one rule
whose standard test asks for something Genesys Cloud does not publish, replaced with a reason.

Used by ``omnisdk certify ccaas_genesys`` and by ``tests/test_certification.py``.  Importing it
needs ``omnisdk[testkit]``; the plugin itself never imports it.

**Why ``signature.provider_vectors`` is replaced.**  The rule asks for requests the provider
signed with a published secret.  Genesys Cloud documents its webhook scheme
(https://developer.genesys.cloud/commdigital/digital/openmessaging/validate.html:
``X-Hub-Signature-256: sha256=`` + base64 HMAC-SHA256 of the raw body, keyed with the
webhook secret) but publishes no signed request with its secret, and no openly licensed
capture or SDK test of one was found.  The replacement runs the standard test, unchanged, on
HMAC-SHA256 Test Case 2 of RFC 4231 (computed by the RFC's authors with a published key,
``recordings/vectors/rfc4231_case2.json``) written in Genesys's header form: accepted as
given, refused with one byte changed.  It proves the plugin's HMAC, key, base64 and prefix
agree with a signer other than its own ``sign()``; it is not a Genesys request.

**Not declared: ``signature_scheme``.**  The kit has signers only for schemes with published
test values (:mod:`omnisdk.testkit.checks.schemes`); Genesys publishes none, so
``signature.published_scheme`` does not apply.
"""

from __future__ import annotations

from omnisdk.testkit import CCaaSConnectorSuite, override
from omnisdk_ccaas_genesys.connector import GenesysCloudConnector

NO_PUBLISHED_VECTOR = (
    "Genesys Cloud documents its scheme (openmessaging/validate.html: X-Hub-Signature-256 = "
    "'sha256=' + base64 HMAC-SHA256 of the body, keyed with the webhook secret) but publishes no "
    "signed request with its secret; the standard test runs unchanged on RFC 4231's HMAC-SHA256 "
    "Test Case 2 in that header form (recordings/vectors/rfc4231_case2.json): an independent "
    "signer, not a Genesys request"
)


class GenesysCloudSuite(CCaaSConnectorSuite):
    """Genesys Cloud CX: email and messaging interactions routed by its ACD; detail events on
    our signed webhook.  Gold tier."""

    connector = GenesysCloudConnector
    tier = "gold"
    capabilities = frozenset({"inbound"})
    # X-Hub-Signature-256 is keyed by webhook_secret only; the OAuth client secret signs nothing
    signing_secrets = frozenset({"webhook_secret"})

    @override(reason=NO_PUBLISHED_VECTOR)
    def test_provider_vectors(self) -> None:
        super().test_provider_vectors()


Suite = GenesysCloudSuite
"""The plugin test kit against this plugin, at its declared tier (see omnisdk_ccaas_genesys.certification)."""
