"""``python -m omnisdk.testkit.certify.drafts PLUGIN [--write]``: draft expected-events files
(:func:`omnisdk.testkit.channel.expectations.draft`) for a plugin's recordings that have none.

The plugin is found as ``omnisdk certify`` finds it (:func:`~omnisdk.testkit.certify.discovery.find_suites`).
Review and trim each draft before committing it: a draft pins today's output.
"""

from __future__ import annotations

import argparse
import json
import sys

from omnisdk.testkit.certify.discovery import find_suites
from omnisdk.testkit.channel.expectations import draft, expected_path


def main(argv: list[str] | None = None) -> int:
    """``python -m omnisdk.testkit.certify.drafts PLUGIN [--write]``: drafts for unpinned recordings."""
    parser = argparse.ArgumentParser(prog="python -m omnisdk.testkit.certify.drafts")
    parser.add_argument("plugin", help="installed plugin name, or module:SuiteClass")
    parser.add_argument("--write", action="store_true", help="write the drafts into expected/")
    args = parser.parse_args(argv)
    for suite in find_suites(args.plugin).suites:
        fx = suite.fixture()
        for rec in fx.recordings:
            target = expected_path(fx.expected_dir, rec.name)
            if target.exists():
                continue
            doc = draft(fx.adapter().parse(fx.request(rec)))
            text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
            if args.write:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                print(f"wrote {target}")
            else:
                print(f"--- {target}\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
