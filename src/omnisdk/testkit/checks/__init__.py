"""Probes the suites share, with no suite in them: event shape (:mod:`.events`), secret leaks
(:mod:`.leaks`), signature comparison spies (:mod:`.signatures`) and the mocked provider API of
outbound checks (:mod:`.provider_api`).  They import nothing else of the kit."""
