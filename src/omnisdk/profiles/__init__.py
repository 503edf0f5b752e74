"""Messaging profiles and the user directory (docs/sms.md).

- :mod:`~omnisdk.profiles.matching`: which requester writes from an inbound number;
- :mod:`~omnisdk.profiles.directory_file`: reading a directory export (CSV or JSON).

This package imports nothing of the lifecycle or threading: both use it.
"""
