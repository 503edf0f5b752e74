"""Test-only plugin implementing a hook that does not exist (a typo of omnisdk_adapters)."""

from omnisdk.hookspecs import hookimpl

OMNISDK_PLUGIN_API = 1


@hookimpl
def omnisdk_adaptors():
    return []
