"""docs/plugins.md is generated; it must match the in-tree plugins and the rule book."""

from __future__ import annotations

from pathlib import Path

from omnisdk.testkit.certify.matrix import render

ROOT = Path(__file__).resolve().parents[2]


def test_docs_plugins_md_is_up_to_date():
    expected = render(ROOT / "plugins")
    actual = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert actual == expected, "regenerate: python -m omnisdk.testkit.certify.matrix > docs/plugins.md"
    assert "| `whatsapp` | `omnisdk-whatsapp` | whatsapp | **gold** |" in actual
