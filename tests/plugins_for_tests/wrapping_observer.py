"""Test-only plugin wrapping the observer hook ``omnisdk_event`` (a new-style wrapper): refused."""

from omnisdk.hookspecs import hookimpl

OMNISDK_PLUGIN_API = 1


@hookimpl(wrapper=True)
def omnisdk_event(event):
    return (yield)
