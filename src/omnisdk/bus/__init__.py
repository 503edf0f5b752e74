"""NATS JetStream: the inbox bus between stateless gateways and the core (``serve --role
gateway`` publishes, the core consumes) and the stream core events leave on.

Modules: :mod:`~omnisdk.bus.settings` (``[bus]``), :mod:`~omnisdk.bus.subjects` (subject
scheme and message ids), :mod:`~omnisdk.bus.connection` (connect, declare the streams).
"""
