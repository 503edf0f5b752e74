"""``omnisdk new-plugin NAME``: a channel plugin skeleton that passes the bronze tier as made.

The files come from ``scaffold_template/`` (paths and contents with ``{{name}}``, ``{{Name}}``
and ``{{dist}}`` placeholders, each file ending in ``.tmpl``).
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

TEMPLATE = Path(__file__).parent / "scaffold_template"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ScaffoldError(Exception):
    """The name is not usable or the target folder exists."""


def placeholders(name: str) -> dict[str, str]:
    """``{{name}}`` → ``acme_chat``, ``{{Name}}`` → ``AcmeChat``, ``{{dist}}`` → ``acme-chat``."""
    return {
        "{{name}}": name,
        "{{Name}}": "".join(part.capitalize() for part in name.split("_") if part),
        "{{dist}}": name.replace("_", "-"),
    }


def scaffold(name: str, parent: Path | str = "plugins") -> Path:
    """Write the skeleton of plugin ``name`` into ``parent/name`` and return that folder.

    Raises:
        ScaffoldError: ``name`` is not lower-case letters, digits and underscores starting
            with a letter (at most 40), is a Python keyword, or the folder exists.
    """
    if not NAME.match(name) or keyword.iskeyword(name) or name.endswith("_"):
        raise ScaffoldError(
            f"invalid plugin name {name!r}: use lower-case letters, digits and underscores, "
            "starting with a letter (it becomes the module omnisdk_NAME and the URL segment)"
        )
    root = Path(parent) / name
    if root.exists():
        raise ScaffoldError(f"{root} already exists")
    subst = placeholders(name)
    for src in sorted(TEMPLATE.rglob("*.tmpl")):
        rel = src.relative_to(TEMPLATE).as_posix().removesuffix(".tmpl")
        text = src.read_text(encoding="utf-8")
        for key, value in subst.items():
            rel = rel.replace(key, value)
            text = text.replace(key, value)
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root
