"""The connector suites: :class:`~omnisdk.testkit.connector.ccaas.CCaaSConnectorSuite`,
:class:`~omnisdk.testkit.connector.cti.CTIConnectorSuite`, their shared base and mocked
platform (:mod:`.checks`) and their rules (:mod:`.rules`).

Layering: builds on :mod:`omnisdk.testkit.channel` (the webhook rules are the channel suite's),
never on :mod:`omnisdk.testkit.certify`.
"""
