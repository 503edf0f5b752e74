"""Finding installed plugins: the one walk over the ``omnisdk`` entry-point group.

The runtime and ``omnisdk plugins`` (through :meth:`omnisdk.plugins.PluginHost.load_entrypoints`)
and ``omnisdk certify`` (:mod:`omnisdk.testkit.certify.discovery`) all call :func:`discover`, so
they see the same plugins, with the same distribution, version and core requirement.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType

from packaging.requirements import InvalidRequirement, Requirement

ENTRYPOINT_GROUP = "omnisdk"
"""The entry-point group plugins register under (``[project.entry-points.omnisdk]``)."""

CORE_DISTRIBUTION = "omnisdk"


@dataclass(frozen=True, slots=True)
class PluginSource:
    """One plugin module to load, and what its distribution says about it.

    Attributes:
        name: the plugin's name: the entry-point name (``whatsapp``), or the import path for a
            ``[plugins] modules`` entry.
        module: the import path of the plugin module (``omnisdk_whatsapp.plugin``).
        distribution: the distribution that installs it (``omnisdk-whatsapp``), or None.
        version: that distribution's version, or None.
        requires_core: the distribution's version specifier on ``omnisdk`` (``">=0.1,<0.2"``);
            ``""`` when it requires ``omnisdk`` without a range; None when there is no
            distribution or it does not require ``omnisdk``.
    """

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    requires_core: str | None = None

    @property
    def package(self) -> str:
        """The top package of :attr:`module` (``omnisdk_whatsapp``)."""
        return self.module.rsplit(".", 1)[0] if "." in self.module else self.module

    def load(self) -> ModuleType:
        """Import the plugin module.

        Raises:
            Exception: whatever the import raises (the host isolates it per plugin).
        """
        return importlib.import_module(self.module)


def discover(group: str = ENTRYPOINT_GROUP) -> list[PluginSource]:
    """Every installed plugin of the entry-point ``group``, sorted by name; one source per
    name (the first distribution found wins, as :func:`importlib.metadata.entry_points`)."""
    seen: dict[str, PluginSource] = {}
    for ep in metadata.entry_points(group=group):
        if ep.name in seen:
            continue
        dist = ep.dist
        seen[ep.name] = PluginSource(
            name=ep.name,
            module=ep.module,
            distribution=dist.name if dist is not None else None,
            version=dist.version if dist is not None else None,
            requires_core=core_requirement(dist) if dist is not None else None,
        )
    return [seen[name] for name in sorted(seen)]


def core_requirement(dist: metadata.Distribution) -> str | None:
    """The version specifier ``dist`` puts on the core distribution (``">=0.1,<0.2"``, or
    ``""`` for a bare ``omnisdk``), None if it does not require it.  Requirements behind an
    extra (``omnisdk[testkit]; extra == "test"``) are not the runtime requirement and are
    skipped; an unparsable requirement line is ignored."""
    for line in dist.requires or ():
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if _normalise(req.name) != CORE_DISTRIBUTION:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue
        return str(req.specifier)
    return None


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
