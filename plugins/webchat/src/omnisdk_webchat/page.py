"""A sample portal page embedding the widget (``GET /chat/{account}/``): what the demo and the
browser test open, and the embedding example of ``docs/webchat.md``."""

from __future__ import annotations

from html import escape


def sample_page(account: str) -> str:
    """The page's HTML; ``account`` is the configured account name (escaped)."""
    acct = escape(account, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer portal (omnisdk web chat sample)</title></head>
<body>
<main>
<h1>Customer portal</h1>
<p>This sample page embeds the omnisdk chat widget of account <code>{acct}</code> with one script tag.</p>
</main>
<script src="/chat/{acct}/widget.js" data-account="{acct}" defer></script>
</body>
</html>
"""
