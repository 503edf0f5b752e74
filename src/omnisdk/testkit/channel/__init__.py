"""The channel adapter suite (:class:`~omnisdk.testkit.channel.suite.ChannelAdapterSuite`) and
its parts: the rules (:mod:`.rules`), the fixture built from the adapter (:mod:`.fixture`), the
shared base of its mixins (:mod:`.checks`), the mixins (:mod:`.recordings`, :mod:`.signatures`,
:mod:`.delivery`, :mod:`.outbound`) and expected-events matching (:mod:`.expectations`).

Layering: imports the shared kit (rules, tiers, base suite, :mod:`omnisdk.testkit.checks`),
never :mod:`omnisdk.testkit.connector` or :mod:`omnisdk.testkit.certify`.
"""
