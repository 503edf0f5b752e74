"""What a block of code opens: files, sockets, subprocesses, seen by a PEP 578 audit hook.

``with audited() as calls: adapter.parse(request)`` leaves in ``calls`` one line per watched
operation the block performed in this thread, such as ``open('/etc/hosts', 'r')`` or
``socket.connect((...))``.

An audit hook cannot be removed once added (``sys.addaudithook``,
https://peps.python.org/pep-0578/), so the kit adds one, process-wide, the first time
:func:`audited` runs, and gates it with a :class:`~contextvars.ContextVar`: outside an
:func:`audited` block the hook costs one ``ContextVar.get()`` per audit event and records
nothing; other threads (whose context does not hold the list) are never recorded.

Watched events (names from https://docs.python.org/3/library/audit_events.html):

- files: ``open`` (``open()``, ``io.open_code``, ``os.open``), ``os.listdir``, ``os.scandir``,
  and the calls that change the file system (:data:`FILE_EVENTS`);
- network: creating, binding or connecting a socket, sending a datagram, and name lookups
  (``socket.getaddrinfo``, ``socket.gethostbyname`` …), plus the standard library's clients
  (``http.client.connect``, ``urllib.Request``, ``smtplib.connect`` …) (:data:`NETWORK_EVENTS`);
- processes: ``subprocess.Popen``, ``os.system``, ``os.exec``, ``os.posix_spawn``,
  ``os.spawn``, ``os.fork``, ``os.forkpty``, ``pty.spawn`` (:data:`PROCESS_EVENTS`).

False positives avoided: the file-system events that the import system causes (a first-time
import inside the audited block opens ``.py``/``.pyc`` files and lists folders) are ignored,
recognised by a frame of ``importlib._bootstrap``/``_bootstrap_external`` or ``zipimport`` on
the stack at the time of the event; so are reads by :mod:`linecache` (a traceback being
formatted for a log record).  Reading a data file with ``importlib.resources``, ``open()`` or
``pathlib`` is recorded.  The hook records and never blocks: the operation still happens.
"""

from __future__ import annotations

import linecache
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

FILE_EVENTS = frozenset({
    "open", "os.listdir", "os.scandir", "os.mkdir", "os.remove", "os.rename", "os.rmdir",
    "os.truncate", "os.link", "os.symlink", "os.chmod", "os.chown", "shutil.copyfile",
    "shutil.rmtree", "shutil.move", "tempfile.mkstemp", "tempfile.mkdtemp",
})
NETWORK_EVENTS = frozenset({
    "socket.__new__", "socket.bind", "socket.connect", "socket.sendto", "socket.sendmsg",
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
    "socket.gethostbyaddr", "socket.getnameinfo", "http.client.connect", "urllib.Request",
    "ftplib.connect", "smtplib.connect", "poplib.connect", "imaplib.open", "nntplib.connect",
    "webbrowser.open",
})
PROCESS_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.startfile", "pty.spawn",
})
WATCHED = FILE_EVENTS | NETWORK_EVENTS | PROCESS_EVENTS

_IMPORT_FRAMES = ("<frozen importlib._bootstrap", "<frozen zipimport>")
_LINECACHE = linecache.__file__
_CALLS: ContextVar[list[str] | None] = ContextVar("omnisdk_testkit_audited", default=None)
_LOCK = threading.Lock()
_installed = False


def _by_import_system() -> bool:
    frame: Any = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_IMPORT_FRAMES) or name == _LINECACHE:
            return True
        frame = frame.f_back
    return False


def describe(event: str, args: tuple[Any, ...]) -> str:
    """One watched call as a short line: ``open('/x', 'r')``, ``subprocess.Popen(['ls'])``."""
    if event == "open" and args:
        shown = ", ".join(repr(a) for a in args[:2] if a is not None)
    else:
        shown = ", ".join(repr(a) for a in args)
    return f"{event}({shown[:120]}{'…' if len(shown) > 120 else ''})"


def _hook(event: str, args: tuple[Any, ...]) -> None:
    calls = _CALLS.get()
    if calls is None or event not in WATCHED:
        return
    try:
        if event in FILE_EVENTS and _by_import_system():
            return
        calls.append(describe(event, args))
    except Exception:  # an exception here would abort the audited operation
        calls.append(f"{event}(…)")


def install() -> None:
    """Add the kit's audit hook to the process, once (idempotent, thread-safe)."""
    global _installed
    with _LOCK:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


@contextmanager
def audited() -> Iterator[list[str]]:
    """Record, into the yielded list, the watched operations this thread performs inside the
    block (see the module docstring).  Blocks may nest; each records its own calls."""
    install()
    calls: list[str] = []
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)
