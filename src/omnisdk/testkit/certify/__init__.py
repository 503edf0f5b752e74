"""``omnisdk certify`` and the documents built from certification.

- :mod:`~omnisdk.testkit.certify.discovery` — which suites run for a plugin
  (:func:`~omnisdk.testkit.certify.discovery.find_suites`, the default suite);
- :mod:`~omnisdk.testkit.certify.run` — running them under pytest and rendering the report;
- :mod:`~omnisdk.testkit.certify.drafts` — ``python -m omnisdk.testkit.certify.drafts``, draft
  expected-events files;
- :mod:`~omnisdk.testkit.certify.matrix` — ``python -m omnisdk.testkit.certify.matrix``,
  ``docs/plugins.md``.

Layering: ``certify`` imports the suites (:mod:`omnisdk.testkit.channel`,
:mod:`omnisdk.testkit.connector`); nothing below imports ``certify``.
"""
