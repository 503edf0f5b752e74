"""Test-only plugin implementing a hook that does not exist (a typo of omnisdk_adapters)."""

from omnisdk.hookspecs import hookimpl


@hookimpl
def omnisdk_adaptors():
    return []
