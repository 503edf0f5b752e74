"""Test-only plugin built for a plugin API this core does not speak (2): the host refuses it."""

from sample_plugin import SampleAdapter

from omnisdk.hookspecs import hookimpl

OMNISDK_PLUGIN_API = 2


@hookimpl
def omnisdk_adapters():
    return [SampleAdapter]
