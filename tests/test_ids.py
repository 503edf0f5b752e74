"""Identifiers: time-ordered, unique, and not repeated by a forked child."""

from __future__ import annotations

import os

from omnisdk.ids import new_id


def test_ids_are_32_hex_characters_sorted_by_creation_and_unique():
    ids = [new_id() for _ in range(50_000)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids[:100])
    assert len(set(ids)) == len(ids)
    prefixes = [i[:14] for i in ids]
    assert prefixes == sorted(prefixes), "the time part never goes back within a process"


def test_a_forked_child_does_not_repeat_its_parents_identifiers():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next random parts, to the parent
        try:
            os.write(write, ",".join(new_id()[14:] for _ in range(20)).encode())
        finally:
            os._exit(0)
    os.close(write)
    parent = {new_id()[14:] for _ in range(20)}
    with os.fdopen(read, "rb") as pipe:
        child = set(pipe.read().decode().split(","))
    os.waitpid(pid, 0)
    assert len(child) == 20
    assert not parent & child
