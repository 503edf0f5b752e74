"""Test-only plugin that does not say which plugin API it was built for: the host refuses it."""

from omnisdk.hookspecs import hookimpl


@hookimpl
def omnisdk_adapters():
    return []
