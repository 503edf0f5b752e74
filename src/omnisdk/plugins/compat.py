"""Plugin compatibility: which plugins this core may load.

Two declarations, both checked when a plugin module loads (a refused plugin lands in
:attr:`omnisdk.plugins.PluginHost.failures` with the reason, and in ``omnisdk plugins``):

- **the plugin API** — a plugin module sets ``OMNISDK_PLUGIN_API = 1`` (an int, or a
  tuple/list/range of the ints it supports).  It must include :data:`PLUGIN_API`, the version
  of the contract this core speaks (hook specs, adapter base classes, event catalogue).  The
  number grows only when that contract changes incompatibly.  A module without it is refused:
  nothing says what it was built for.
- **the core version range** — the plugin's distribution requires ``omnisdk`` with a version
  specifier (``dependencies = ["omnisdk>=0.1,<0.2"]``).  pip enforces it at install time; the
  host checks it again at load time, since editable and ``--no-deps`` installs skip it.
"""

from __future__ import annotations

from collections.abc import Collection
from importlib import metadata
from types import ModuleType
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from omnisdk import __version__ as _source_version
from omnisdk.plugins.discovery import CORE_DISTRIBUTION, PluginSource

PLUGIN_API = 1
"""The plugin API this core speaks; a plugin module's ``OMNISDK_PLUGIN_API`` must include it."""

API_ATTRIBUTE = "OMNISDK_PLUGIN_API"
"""The module attribute a plugin declares its plugin API(s) in."""


def core_version() -> str:
    """The installed core's version (distribution metadata, else ``omnisdk.__version__``)."""
    try:
        return metadata.version(CORE_DISTRIBUTION)
    except metadata.PackageNotFoundError:  # running from a source tree without metadata
        return _source_version


def declared_apis(module: ModuleType) -> frozenset[int] | None:
    """The plugin APIs ``module`` declares, or None when it declares none (or not ints)."""
    value: Any = getattr(module, API_ATTRIBUTE, None)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return frozenset({value})
    if isinstance(value, Collection) and not isinstance(value, (str, bytes)) and value \
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return frozenset(value)
    return None


def api_problem(module: ModuleType, api: int = PLUGIN_API) -> str | None:
    """Why ``module`` cannot be loaded by a core speaking plugin API ``api``, or None."""
    apis = declared_apis(module)
    if apis is None:
        return (f"declares no plugin API (set {API_ATTRIBUTE} = {api} in {module.__name__}); "
                f"this core speaks plugin API {api}")
    if api not in apis:
        shown = ", ".join(str(a) for a in sorted(apis))
        return (f"built for plugin API {shown}, but this core (omnisdk {core_version()}) speaks "
                f"plugin API {api}: install a release of the plugin built for API {api}")
    return None


def core_range_problem(source: PluginSource, version: str | None = None) -> str | None:
    """Why ``source``'s distribution does not accept the installed core (``version``, default
    :func:`core_version`), or None (no distribution, no range, or the range holds it)."""
    if not source.requires_core:
        return None
    have = version or core_version()
    try:
        spec = SpecifierSet(source.requires_core)
        ok = spec.contains(Version(have), prereleases=True)
    except (InvalidSpecifier, InvalidVersion) as exc:
        return f"{source.distribution} has an unreadable requirement on omnisdk: {exc}"
    if ok:
        return None
    return (f"{source.distribution} {source.version} requires omnisdk{source.requires_core}, "
            f"but omnisdk {have} is installed")
