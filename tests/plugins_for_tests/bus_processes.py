"""Test helpers of the inbox bus: a real nats-server, real ``omnisdk serve`` processes, and
signed WhatsApp webhooks built from the recorded fixture ``/work/shared/fixtures`` ships
(``whatsapp/message.json``, its ``text`` body: Meta's Cloud API text-message notification)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from omnisdk.testkit.ports import free_port
from omnisdk.testkit.services import require_service

TESTS = Path(__file__).parent.parent
FIXTURE = Path(os.environ.get("OMNISDK_FIXTURES", "/work/shared/fixtures")) / "whatsapp" / "message.json"
ACCOUNT = "acme"
WEBHOOK_PATH = f"/webhooks/whatsapp/{ACCOUNT}"


def require_nats() -> str:
    """The nats-server binary, or skip (fail in CI)."""
    if importlib.util.find_spec("nats") is None:
        require_service("nats-py", "pip install 'omnisdk[nats]'")
    binary = shutil.which("nats-server")
    if binary is None:
        require_service("nats-server", "no nats-server binary on PATH")
    return binary


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


class NatsServer:
    """``nats-server -js`` on 127.0.0.1:``port`` with its JetStream store in ``store_dir``;
    :meth:`stop` then :meth:`start` is a server restart (same port, same data)."""

    def __init__(self, store_dir: Path) -> None:
        self.binary = require_nats()
        self.port = free_port()
        self.store_dir = store_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not _wait_port(self.port, 15):
            self.stop()
            raise AssertionError("nats-server did not listen")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextlib.contextmanager
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "jetstream")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def write_config(folder: Path, store_url: str, nats_url: str, name: str = "omnisdk.toml") -> Path:
    from omnisdk_whatsapp.adapter import WhatsAppAdapter

    account = "\n".join(f"{k} = {json.dumps(v)}" for k, v in WhatsAppAdapter.example_settings().items())
    cfg = folder / name
    cfg.write_text(
        f'[store]\nurl = "{store_url}"\n\n'
        f'[bus]\nurl = "{nats_url}"\npublish_timeout = 1.0\npartitions = 8\n\n'
        '[plugins]\nallow = ["whatsapp"]\n\n'
        '[[routing.agents]]\nid = "alice"\ncapacity = { whatsapp = 100000 }\n\n'
        f"[accounts.whatsapp.{ACCOUNT}]\n{account}\n",
        encoding="utf-8")
    return cfg


@dataclass
class Webhook:
    body: bytes
    signature: str
    event_ids: list[str]


def webhooks(n: int) -> list[Webhook]:
    """``n`` distinct signed text-message webhooks (one sender each), with the ids of the
    events the WhatsApp adapter parses from each (what the core must end up with)."""
    from omnisdk.adapters import WebhookRequest
    from omnisdk_whatsapp.adapter import WhatsAppAdapter

    settings = WhatsAppAdapter.example_settings()
    adapter = WhatsAppAdapter(ACCOUNT, WhatsAppAdapter.Settings(**settings))
    doc = json.loads(FIXTURE.read_text())["text"]
    value = doc["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = settings["phone_number_id"]
    out = []
    ts = str(int(time.time()))
    for i in range(n):
        wa_id = f"1555{i:07d}"
        value["contacts"][0]["wa_id"] = wa_id
        value["messages"][0].update({"from": wa_id, "id": f"wamid.bus{i:08d}", "timestamp": ts,
                                     "text": {"body": f"where is my order #{i}?"}})
        body = json.dumps(doc).encode()
        sig = adapter.sign("", body, "application/json")["X-Hub-Signature-256"]
        req = WebhookRequest(method="POST", url="http://t" + WEBHOOK_PATH, headers={}, body=body, query={},
                             received_at="2030-01-01T00:00:00Z")
        out.append(Webhook(body, sig, [e.id for e in adapter.parse(req)]))
    return out


@dataclass
class Serve:
    """One ``omnisdk serve --role ROLE`` process."""

    config: Path
    role: str
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 40) -> Serve:
        env = {**os.environ, "PYTHONPATH": str(TESTS / "plugins_for_tests")}
        self._log = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omnisdk.cli", "serve", "-c", str(self.config), "--role", self.role,
             "--port", str(self.port)], env=env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.role} exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"{self.role} did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None
            self._log.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
            self._log.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"


@dataclass
class Answer:
    index: int
    status: int | None  # None: no answer (connection refused or reset)
    sent: float
    answered: float
    retry_after: str | None = None


async def post_all(url: str, hooks: list[Webhook], indexes: list[int], *, in_flight: int = 16,
                   on_answer=None, pace: float = 0.0) -> list[Answer]:
    """POST the webhooks ``indexes`` with ``in_flight`` at a time; every answer (or its absence)."""
    answers: list[Answer] = []
    sem = asyncio.Semaphore(in_flight)
    async with httpx.AsyncClient(timeout=5) as client:

        async def one(i: int) -> None:
            async with sem:
                hook = hooks[i]
                sent = time.monotonic()
                try:
                    r = await client.post(url, content=hook.body, headers={
                        "content-type": "application/json", "x-hub-signature-256": hook.signature})
                    answer = Answer(i, r.status_code, sent, time.monotonic(), r.headers.get("retry-after"))
                except httpx.HTTPError:
                    answer = Answer(i, None, sent, time.monotonic())
                answers.append(answer)
                if on_answer is not None:
                    on_answer(answer)
                if pace:
                    await asyncio.sleep(pace)

        await asyncio.gather(*(one(i) for i in indexes))
    return answers


def pg_counts(store_url: str, schema: str) -> dict[str, object]:
    """What the core made, in its PostgreSQL schema: inbox ids, inbound message ids (with
    repeats), interactions, and the unprocessed backlog."""
    import psycopg
    from postgres_schemas import POSTGRES_URL
    from psycopg import sql

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        inbox = [r[0] for r in conn.execute("SELECT id FROM inbox")]
        msgs = [r[0] for r in conn.execute("SELECT message_id FROM messages WHERE direction = 'inbound'")]
        inters = conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
        pending = conn.execute(
            "SELECT COUNT(*) FROM inbox WHERE seq > COALESCE((SELECT MAX(seq) FROM inbox_cursor), 0)").fetchone()[0]
        failures = conn.execute("SELECT COUNT(*) FROM inbox_failures").fetchone()[0]
    return {"inbox": inbox, "messages": msgs, "interactions": inters, "pending": pending, "failures": failures}
