"""The plugin host: loading plugins and calling their hooks.

Plugins are distributions that register a module under the entry-point group ``omnisdk``::

    [project.entry-points.omnisdk]
    whatsapp = "omnisdk_whatsapp.plugin"

and declare the plugin API they were built for (``OMNISDK_PLUGIN_API = 1`` in that module) and
the core versions they accept (their requirement on ``omnisdk``).

- :mod:`omnisdk.plugins.discovery` — :func:`discover`, the one walk over the entry points;
- :mod:`omnisdk.plugins.compat` — :data:`PLUGIN_API` and the compatibility checks;
- :mod:`omnisdk.plugins.host` — :class:`PluginHost`, the fault-isolated loader and the typed
  facade (one ``omnisdk_*`` method per hook).
"""

from omnisdk.plugins.compat import API_ATTRIBUTE, PLUGIN_API, core_version
from omnisdk.plugins.discovery import ENTRYPOINT_GROUP, PluginSource, discover
from omnisdk.plugins.host import PluginHost, PluginInfo

__all__ = [
    "API_ATTRIBUTE",
    "ENTRYPOINT_GROUP",
    "PLUGIN_API",
    "PluginHost",
    "PluginInfo",
    "PluginSource",
    "core_version",
    "discover",
]
