"""The ``omnisdk`` command line (typer).

Exit codes: 0 ok; 1 failure; 2 malformed body / bad usage / unreachable gateway (``replay``);
3 bad signature; 4 configuration (also: a configured plugin module that does not import, a
store that cannot be opened).  Every refusal is one line on stderr, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from omnisdk.adapters import ChannelAdapter, WebhookRequest
from omnisdk.errors import ConfigError, OmniError, PayloadError, SignatureError
from omnisdk.store import Store, StoreError, StoreNotFound, open_store

app = typer.Typer(add_completion=False, no_args_is_help=True, help="omnisdk: omnichannel customer-service runtime.")
err = Console(stderr=True, soft_wrap=True, highlight=False)  # one refusal = one line, whatever the width
out = Console()

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML configuration file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _version(value: bool) -> None:
    """``--version``: the core's version, then each loaded plugin's (entry points only; the
    configuration is not read, so this works whatever state it is in)."""
    if not value:
        return
    from omnisdk.plugins import PluginHost

    out.print(f"omnisdk {_dist_version('omnisdk')}", markup=False)
    host = PluginHost()
    host.load_entrypoints()
    for info in host.describe():
        dist = f" ({info.distribution})" if info.distribution else ""
        out.print(f"{info.name}{dist} {info.version or 'unknown'}", markup=False)
    for name, why in host.failures.items():
        err.print(f"{name} not loaded: {why}", markup=False)
    raise typer.Exit(0)


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the core's version and each installed plugin's, then exit.")] = False,
) -> None:
    """omnisdk: omnichannel customer-service runtime."""


def _settings(config: Path | None) -> Any:
    """Load the configuration and validate every account table of an installed plugin
    against its settings model (an empty secret, a malformed id …); exit 4 with one line
    otherwise."""
    return _load(config)[0]


def _load(config: Path | None) -> tuple[Any, Any]:
    """:func:`_settings`, and the plugin host it loaded to check the accounts."""
    from omnisdk.config import check_accounts, load_settings

    try:
        settings = load_settings(config)
        host = _host(settings)
        check_accounts(settings, {name: cls.Settings for name, cls in host.omnisdk_adapters().items()})
    except ConfigError as exc:
        _config_error(exc)
    return settings, host


def _config_error(exc: ConfigError | str) -> NoReturn:
    err.print(f"[red]configuration error:[/red] {escape(str(exc))}")
    raise typer.Exit(4)


def _host(settings: Any) -> Any:
    """The plugin host of ``settings``.  Load failures land in ``host.failures``, which the
    commands report themselves (one line each), so the host's own log records are held back."""
    from omnisdk.plugins import PluginHost

    plugin_log = logging.getLogger("omnisdk.plugins")
    was_disabled, plugin_log.disabled = plugin_log.disabled, True
    try:
        host = PluginHost(allow=settings.plugins.allow, block=settings.plugins.block)
        host.load_entrypoints()
        host.load_modules(settings.plugins.modules)
    finally:
        plugin_log.disabled = was_disabled
    return host


_STORE_OPEN_ERRORS: tuple[type[BaseException], ...] = (StoreError, OSError)
"""What opening the store raises for an unwritable path, a directory or a file that is not a
database (:class:`~omnisdk.store.StoreError`; ``OSError`` from a store that lets one through)."""


def _store_label(url: str) -> str:
    """The store URL with its password masked (``postgresql://user:pw@host:5432/db`` →
    ``postgresql://user:********@host:5432/db``); a URL without one is returned as it is."""
    from omnisdk.config_view import mask_url_password

    return mask_url_password(url)


def _store_failed(store: Store, url: str, exc: BaseException) -> NoReturn:
    if isinstance(exc, StoreError):  # the store's own message names it (never a password)
        _config_error(str(exc))
    reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or type(exc).__name__
    _config_error(f"cannot open the store {store.location or _store_label(url)}: {reason}")


async def _probe_store(store: Store) -> None:
    """Open and close the store once, so a store that cannot be opened ends ``serve`` with
    one line before the server starts (uvicorn would print a traceback and exit 3)."""
    await store.open()
    await store.close()


def _adapter(settings: Any, host: Any, plugin: str, account: str | None) -> ChannelAdapter:
    """The configured account's adapter, or one with the plugin's example settings."""
    cls = host.omnisdk_adapters().get(plugin)
    if cls is None:
        err.print(f"no plugin {plugin!r} is installed (see 'omnisdk plugins')")
        raise typer.Exit(4)
    raw = settings.accounts.get(plugin, {}).get(account) if account else None
    if account and raw is None:
        err.print(f"no account {account!r} for {plugin} in the configuration")
        raise typer.Exit(4)
    from pydantic import ValidationError

    from omnisdk.config import describe_validation_error

    try:
        conf = cls.Settings.model_validate(raw if raw is not None else cls.example_settings())
    except ValidationError as exc:
        err.print(f"accounts.{plugin}.{account}: {describe_validation_error(exc)}")
        raise typer.Exit(4) from None
    return cls(account or "example", conf)


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[Optional[str], typer.Option(help="Bind address (overrides config).")] = None,
    port: Annotated[Optional[int], typer.Option(min=1, max=65535, help="Port, 1-65535 (overrides config).")] = None,
    role: Annotated[str, typer.Option(
        help="all | ingress (webhooks only) | core (processing + agent API) | gateway (stateless: webhooks "
             "to the [bus] JetStream inbox).")] = "all",
    split: Annotated[bool, typer.Option(
        "--split", help="Two processes on one store: an ingress on PORT and a core on PORT+1.")] = False,
    parent_pid: Annotated[Optional[int], typer.Option(hidden=True)] = None,
    log_format: Annotated[Optional[str], typer.Option(
        help="text | json: the log lines on stderr (overrides [gateway] log_format; default text).")] = None,
    log_level: Annotated[Optional[str], typer.Option(
        help="debug | info | warning | error for omnisdk's records (overrides [gateway] log_level).")] = None,
) -> None:
    """Run the gateway (uvicorn, uvloop + httptools when available).

    ``--split`` runs webhook ingress and the core in separate processes (each with its own
    interpreter lock), so acknowledgements never wait behind routing work.

    Once listening it prints one line on stderr: the version, the address, the store (without
    credentials), the loaded plugins and the number of accounts.

    Exits 4, with one line, before serving anything when the configuration is invalid, a
    ``[plugins] modules`` entry does not import, or the store cannot be opened; 3 when uvicorn
    could not start (a port in use).
    """
    import subprocess

    import uvicorn

    from omnisdk.gateway import create_app
    from omnisdk.gateway.server import ListeningServer, is_loopback, startup_line, uvicorn_options
    from omnisdk.observability.logs import configure_logging
    from omnisdk.runtime import ROLES, Runtime

    settings, plugin_host = _load(config)
    try:  # one handler for omnisdk's, the plugins' and uvicorn's records (log_config=None below)
        configure_logging(log_format or settings.gateway.log_format, log_level or settings.gateway.log_level)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    if role not in ROLES:
        err.print(f"--role must be one of {', '.join(ROLES)}")
        raise typer.Exit(2)
    for name in settings.plugins.modules:  # asked for by name: not loading it is an error
        if name in plugin_host.failures:
            _config_error(f"plugins.modules: {name} not loaded: {plugin_host.failures[name]}")
    bind_host = host or settings.gateway.host
    bind_port = port or settings.gateway.port
    core: subprocess.Popen[bytes] | None = None
    if split:
        # on SQLite the ingress writes its own file (no shared write lock); a server database
        # (PostgreSQL) takes both processes' writes as it is
        if not settings.store.inbox_url and settings.store.url.startswith("sqlite:"):
            url = settings.store.url
            inbox = url[:-3] + "-inbox.db" if url.endswith(".db") else url + "-inbox"
            os.environ["OMNISDK_STORE__INBOX_URL"] = inbox
            settings, plugin_host = _load(config)
        args = [sys.executable, "-m", "omnisdk.cli", "serve", "--role", "core", "--host", bind_host,
                "--port", str(bind_port + 1), "--parent-pid", str(os.getpid())]
        args += [f"--log-format={log_format}"] if log_format else []
        args += [f"--log-level={log_level}"] if log_level else []
        if config:
            args += ["--config", str(config)]
        core = subprocess.Popen(args)  # inherits OMNISDK_STORE__INBOX_URL
        role = "ingress"  # each process prints its own start-up line: this one, then the core's
    if parent_pid is not None:
        _exit_with_parent(parent_pid)
    try:
        try:
            runtime = Runtime(settings, role=role, host=plugin_host)
        except ConfigError as exc:
            _config_error(exc)
        for name, why in runtime.host.failures.items():
            err.print(f"[yellow]plugin {escape(name)} not loaded:[/yellow] {escape(why)}")
        try:
            asyncio.run(_probe_store(runtime.store))  # a gateway's: its NATS connection
        except _STORE_OPEN_ERRORS as exc:
            _store_failed(runtime.store, settings.store.url, exc)
        except OmniError as exc:  # BusError: no NATS server answered (the message names no secret)
            _config_error(str(exc))
        label = (f"none (bus {','.join(map(_store_label, settings.bus.servers))})" if role == "gateway"
                 else _store_label(settings.store.url))
        line = startup_line(version=_dist_version("omnisdk"), host=bind_host, port=bind_port,
                            store=label, role=role,
                            plugins=[i.name for i in runtime.host.describe()], accounts=len(runtime.adapters))
        if settings.gateway.metrics_token is None and not is_loopback(bind_host):
            logging.getLogger("omnisdk.gateway").warning(
                "GET /metrics is open to anyone who can reach %s: set [gateway] metrics_token", bind_host)
        server = ListeningServer(uvicorn.Config(
            create_app(runtime, freeze_heap=True), host=bind_host, port=bind_port, loop="auto",
            access_log=False, log_level="warning", log_config=None,
            # head deadline, keep-alive, head size, WebSocket message size, trusted proxies
            **uvicorn_options(settings.gateway, adapters=runtime.adapters.values())),
            on_listening=lambda: err.print(line, markup=False))
        try:
            server.run()
        except KeyboardInterrupt:  # as uvicorn.run: a second Ctrl-C during the graceful shutdown
            pass
        if not server.started:
            raise typer.Exit(3)  # uvicorn.run's start-up failure (it logged why)
    finally:
        if core is not None:
            core.terminate()
            try:
                core.wait(timeout=10)
            except subprocess.TimeoutExpired:
                core.kill()


def _exit_with_parent(parent_pid: int) -> None:
    """Stop this process (gracefully, SIGTERM) when the process that started it is gone: the
    core of ``serve --split`` must not outlive its ingress, however that one ended."""
    import signal
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="omnisdk-parent-watch", daemon=True).start()


@app.command()
def plugins(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List installed plugins with version, implemented hooks and adapters."""
    settings = _settings(config)
    host = _host(settings)
    infos = host.describe()
    if as_json:
        doc = {
            "plugins": [
                {"name": i.name, "distribution": i.distribution, "version": i.version,
                 "hooks": i.hooks, "adapters": i.adapters}
                for i in infos
            ],
            "failures": host.failures,
        }
        print(json.dumps(doc, indent=2))
        return
    table = Table("plugin", "distribution", "version", "hooks", "adapters")
    for i in infos:
        table.add_row(i.name, i.distribution or "-", i.version or "-", ", ".join(i.hooks), ", ".join(i.adapters))
    out.print(table)
    for name, why in host.failures.items():
        err.print(f"[yellow]{name} not loaded:[/yellow] {why}")


def _read_input(file: str) -> list[tuple[str, bytes, str]]:
    from omnisdk import recordings

    if file == "-":
        return [("stdin", sys.stdin.buffer.read(), "")]
    try:
        recs = recordings.load(file)
    except (FileNotFoundError, ValueError):
        path = Path(file)
        if not path.is_file():
            err.print(f"no such file: {file}")
            raise typer.Exit(2) from None
        return [(path.stem, path.read_bytes(), "")]  # not JSON: let the plugin refuse it
    return [(r.name, r.body, r.content_type) for r in recs]


def _recorded_content_type(adapter: ChannelAdapter) -> str:
    """The content type of a body read from stdin without a ``Content-Type`` header: the one
    the plugin's recordings all use (Twilio: form-encoded), else ``application/json``."""
    from omnisdk import recordings

    if adapter.recordings is not None:
        try:
            types = {r.content_type for r in recordings.load(adapter.recordings)}
        except (OSError, ValueError):
            types = set()
        if len(types) == 1:
            return types.pop()
    return "application/json"


@app.command()
def parse(
    plugin: str,
    file: Annotated[str, typer.Argument(help="Body file, recording collection, folder, or - for stdin.")] = "-",
    account: Annotated[Optional[str], typer.Option(help="Configured account (default: example settings).")] = None,
    header: Annotated[list[str], typer.Option("-H", "--header", help="'Name: value', repeatable.")] = [],  # noqa: B006
    url: Annotated[str, typer.Option(help="The webhook URL the provider called (URL-signed providers).")] = "https://example.invalid/webhooks",
    sign: Annotated[bool, typer.Option(help="Sign each body with the account's secret first.")] = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip signature verification.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Verify and parse raw bodies; print CloudEvents as JSON lines (structured mode).

    A body from stdin has the content type of ``-H 'Content-Type: …'``, else the one the
    plugin's recordings use.  Exit 3 on a bad signature, 2 on a malformed body or a body
    ``--sign`` cannot sign (one-line reason on stderr).
    """
    from omnisdk.events import now_rfc3339, to_http

    settings = _settings(config)
    adapter = _adapter(settings, _host(settings), plugin, account)
    headers: dict[str, str] = {}
    for h in header:
        name, sep, value = h.partition(":")
        if not sep:
            err.print(f"bad header {h!r}: expected 'Name: value'")
            raise typer.Exit(2)
        headers[name.strip().lower()] = value.strip()
    for name, body, ctype in _read_input(file):
        hdrs = dict(headers)
        hdrs.setdefault("content-type", ctype or _recorded_content_type(adapter))
        if sign:
            try:
                hdrs.update({k.lower(): v for k, v in adapter.sign(url, body, hdrs["content-type"]).items()})
            except (ValueError, NotImplementedError) as exc:
                err.print(f"{name}: cannot sign: {exc}", markup=False)
                raise typer.Exit(2) from None
        req = WebhookRequest(method="POST", url=url, headers=hdrs, body=body, received_at=now_rfc3339())
        try:
            if not no_verify:
                adapter.verify(req)
            events = adapter.parse(req)
        except SignatureError as exc:
            err.print(f"{name}: bad signature: {exc}")
            raise typer.Exit(3) from None
        except PayloadError as exc:
            err.print(f"{name}: malformed body: {exc}")
            raise typer.Exit(2) from None
        for e in events:
            sys.stdout.write(to_http(e)[1].decode() + "\n")
    sys.stdout.flush()


@app.command()
def replay(
    path: Annotated[str, typer.Argument(help="Recording file or folder.")],
    url: Annotated[str, typer.Option(help="Webhook URL: http://HOST:PORT/webhooks/PLUGIN/ACCOUNT")],
    config: ConfigOpt = None,
    signed_url: Annotated[Optional[str], typer.Option(help="Public URL to sign, if it differs from --url.")] = None,
) -> None:
    """Sign recorded payloads with the account's secret and POST them to a running gateway.

    Shows a progress bar (on stderr), then the status of each recording and a summary.  Exit
    1 if any answer is 300 or more; 2, with one line, on a missing or unreadable path, a
    folder without recordings, or a gateway that cannot be reached.
    """
    import httpx
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from omnisdk import recordings

    try:
        parts = httpx.URL(url).path.strip("/").split("/")
    except httpx.InvalidURL:
        parts = []
    if len(parts) < 3 or parts[0] != "webhooks":
        err.print("--url must end with /webhooks/PLUGIN/ACCOUNT")
        raise typer.Exit(2)
    plugin, account = parts[1], parts[2]
    settings = _settings(config)
    adapter = _adapter(settings, _host(settings), plugin, account if settings.accounts.get(plugin, {}).get(account) else None)
    try:
        recs = recordings.load(path)
    except FileNotFoundError:
        err.print(f"no such recording file or folder: {path}", markup=False)
        raise typer.Exit(2) from None
    except (OSError, ValueError) as exc:
        err.print(f"cannot read recordings at {path}: {exc}", markup=False)
        raise typer.Exit(2) from None
    if not recs:
        err.print(f"no recordings (.json, .form, .eml) at {path}", markup=False)
        raise typer.Exit(2)
    counts: dict[int, int] = {}
    results: list[tuple[int, str]] = []
    progress = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err, transient=True)
    with httpx.Client(timeout=10) as client, progress:
        task = progress.add_task("replay", total=len(recs))
        for rec in recs:
            try:
                signature = adapter.sign(signed_url or url, rec.body, rec.content_type)
            except (ValueError, NotImplementedError) as exc:
                progress.stop()
                err.print(f"{rec.name}: cannot sign: {exc}", markup=False)
                raise typer.Exit(2) from None
            try:
                resp = client.post(url, content=rec.body, headers={"content-type": rec.content_type, **signature})
            except httpx.TransportError as exc:
                progress.stop()
                err.print(f"cannot reach the gateway at {url}: {type(exc).__name__}", markup=False)
                raise typer.Exit(2) from None
            counts[resp.status_code] = counts.get(resp.status_code, 0) + 1
            results.append((resp.status_code, rec.name))
            progress.advance(task)
    for status, name in results:
        out.print(f"{status} {name}", markup=False)
    out.print("summary: " + ", ".join(f"{n}×{s}" for s, n in sorted(counts.items())), markup=False)
    if any(s >= 300 for s in counts):
        raise typer.Exit(1)


def _read_db(settings: Any, fn: Any) -> Any:
    """``fn(tx)`` on the configured store, read-only (:meth:`Store.read`); exits 1 when there
    is no store yet, 4 (one line) when it cannot be opened."""
    url = settings.store.url
    try:
        store = open_store(url, inbox_url=settings.store.inbox_url)
    except ConfigError as exc:
        _config_error(exc)
    try:
        return asyncio.run(store.read(fn))
    except StoreNotFound as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    except _STORE_OPEN_ERRORS as exc:  # a directory, an unreadable file, not a database
        _store_failed(store, url, exc)


@app.command()
def interactions(
    config: ConfigOpt = None, as_json: JsonOpt = False,
    state: Annotated[Optional[list[str]], typer.Option("--state", help="Only this state (repeatable).")] = None,
    agent: Annotated[Optional[str], typer.Option(help="Only those held by this agent.")] = None,
    queue: Annotated[Optional[str], typer.Option(help="Only those in this queue.")] = None,
    channel: Annotated[Optional[str], typer.Option(help="Only those on this channel.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many (newest first).")] = 50,
    cursor: Annotated[Optional[str], typer.Option(help="The next page: the cursor the last page printed.")] = None,
) -> None:
    """Interactions with state, channel, agent and wrap-up code, newest first, one page at a time."""
    from omnisdk.model import InteractionState
    from omnisdk.store.queries import InteractionQuery

    try:
        states = tuple(InteractionState(s).value for s in state or ())
    except ValueError:
        err.print(f"--state must be one of {', '.join(s.value for s in InteractionState)}")
        raise typer.Exit(2) from None
    query = InteractionQuery(states=states, agent=agent, queue=queue, channel=channel)

    def read(tx: Any) -> Any:
        try:
            return tx.page_interactions(query, limit=limit, cursor=cursor)
        except ValueError as exc:
            err.print(str(exc))
            raise typer.Exit(2) from None

    page = _read_db(_settings(config), read)
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in page.items], indent=2))
        return
    table = Table("id", "channel", "customer", "state", "queue", "agent", "messages", "wrap-up")
    for i in page.items:
        table.add_row(i.id[-12:], i.channel, i.customer, i.state.value, i.queue or "-",
                      i.agent or "-", str(i.message_count), i.wrap_up_code or "-")
    out.print(table)
    if page.next_cursor:
        out.print(f"more: --cursor {page.next_cursor}")


@app.command()
def stats(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Counts of events accepted, rejected (by reason) and deduplicated."""
    counters = _read_db(_settings(config), lambda tx: tx.counters())
    if as_json:
        print(json.dumps(counters, indent=2, sort_keys=True))
        return
    table = Table("counter", "value")
    for k, v in sorted(counters.items()):
        table.add_row(k, str(v))
    out.print(table)


# --- live state: agents, queues, one interaction, cases (the store, or a gateway with --url) ---

UrlOpt = Annotated[Optional[str], typer.Option("--url", help=(
    "Read from a running gateway (http://HOST:PORT) instead of the store, with the API key in $OMNISDK_API_KEY."))]


def _from_gateway(url: str, fetch: Any) -> Any:
    """``fetch(client)`` with an :class:`omnisdk.client.AgentClient` of the agent API of a
    running gateway, with the API key in ``$OMNISDK_API_KEY`` (never a command-line option: it
    would stay in the shell's history and show in ``ps``); exit 1 when unreachable or refused.
    Sent once: a person at the prompt retries, the client does not."""
    from omnisdk.client import AgentClient, APIConnectionError, APIStatusError, RetryPolicy

    key = os.environ.get("OMNISDK_API_KEY")
    try:
        with AgentClient(url, api_key=key or None, timeout=10, retry=RetryPolicy(max_attempts=1)) as client:
            return fetch(client)
    except APIConnectionError as exc:
        err.print(f"cannot reach the gateway at {url}: {exc.cause}")
        raise typer.Exit(1) from None
    except APIStatusError as exc:
        hint = " (set OMNISDK_API_KEY to an API key: omnisdk keys create)" if exc.status == 401 and not key else ""
        err.print(f"the gateway answered {exc.status}: {exc.detail}{hint}", markup=False)
        raise typer.Exit(1) from None


def _json_of(items: Any) -> list[Any]:
    """The API's models as the JSON the API answered."""
    return [item.model_dump(mode="json") for item in items]


def _or_none(fetch: Any) -> Any:
    """``fetch()``, or None when the gateway answers 404."""
    from omnisdk.client import NotFoundError

    try:
        return fetch()
    except NotFoundError:
        return None


def _per_channel(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items()) or "-"


@app.command()
def agents(config: ConfigOpt = None, url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """Agents: presence, capacity, and the load they hold now per channel."""
    if url:
        items = _from_gateway(url, lambda api: _json_of(api.iter_agents(limit=500)))
    else:
        from omnisdk.gateway.state import snapshot

        settings = _settings(config)
        items = _read_db(settings, lambda tx: snapshot(settings, tx)[0])
    if as_json:
        print(json.dumps(items, indent=2))
        return
    table = Table("agent", "presence", "load/capacity", "free", "max units", "queues", "skills")
    for a in items:
        held = ", ".join(f"{ch} {a['load'].get(ch, 0)}/{n}" for ch, n in a["capacity"].items()) or "-"
        table.add_row(a["id"] + (f" ({a['name']})" if a.get("name") else ""), a["presence"], held,
                      _per_channel(a["free_capacity"]), "-" if a.get("max_units") is None else f"{a['max_units']:g}",
                      ", ".join(a["queues"]) or "all", _per_channel(a["skills"]))
    out.print(table)


@app.command()
def queues(config: ConfigOpt = None, url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """Queues with the number of interactions waiting in each."""
    if url:
        items = _from_gateway(url, lambda api: _json_of(api.list_queues()))
    else:
        from omnisdk.gateway.state import snapshot

        settings = _settings(config)
        items = _read_db(settings, lambda tx: snapshot(settings, tx)[1])
    if as_json:
        print(json.dumps(items, indent=2))
        return
    table = Table("queue", "waiting", "channels", "priority", "strategy", "routing", "skills", "overflow")
    for q in items:
        overflow = f"{q['overflow_to']} after {q['overflow_after']:g} s" if q.get("overflow_to") and q.get("overflow_after") else "-"
        table.add_row(q["name"], str(q["waiting"]), ", ".join(q["channels"]) or "all", str(q["priority"]),
                      q["strategy"], q["routing_source"] + (f" ({q['connector']})" if q.get("connector") else ""),
                      _per_channel(q["skills"]), overflow)
    out.print(table)


def _interaction_from_db(tx: Any, ident: str, windows: dict[str, float] | None = None) -> Any:
    """The interaction document ``GET /v1/interactions/{id}`` answers, from the store
    (``windows``: the service-window seconds by account source; none: no window shown)."""
    import time

    from omnisdk.gateway.state import window_view
    from omnisdk.outbound.enqueue import window_closes_at

    inter = tx.get_interaction(ident)
    if inter is None:  # the tables show the last 12 characters (ids start with their time): indexed
        ids = tx.find_interactions(ident, limit=2)
        if len(ids) != 1:
            return None
        inter = tx.get_interaction(ids[0])
    return {"interaction": inter.model_dump(mode="json"),
            "history": [h.to_dict() for h in tx.interaction_history(inter.id)],
            "messages": [m.to_dict() for m in tx.messages_of(inter.id)],
            "customer_opted_out": tx.opted_out(inter.channel, inter.customer),
            **window_view(window_closes_at(windows or {}, tx, inter.source, inter.customer), time.time())}


@app.command()
def interaction(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Interaction id (or a unique prefix or suffix of it).")],
    config: ConfigOpt = None, url: UrlOpt = None, as_json: JsonOpt = False,
) -> None:
    """One interaction with its history (every transition) and its messages."""
    if url:
        def fetch(api: Any) -> Any:
            found = _or_none(lambda: api.get_interaction(ident))
            if found is None:  # the tables show the last 12 characters
                ids = [i.id for i in api.list_interactions(id_match=ident, limit=2).items]
                found = api.get_interaction(ids[0]) if len(ids) == 1 else None
            return found.model_dump(mode="json") if found is not None else None

        doc = _from_gateway(url, fetch)
    else:
        settings, host = _load(config)
        from omnisdk.runtime import build_adapters

        windows = {a.source: a.service_window for a in build_adapters(settings, host).values()
                   if a.service_window is not None}
        doc = _read_db(settings, lambda tx: _interaction_from_db(tx, ident, windows))
    if doc is None:
        err.print(f"no interaction {ident}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    i = doc["interaction"]
    head = Table("field", "value", show_header=False)
    for key in ("id", "state", "channel", "direction", "customer", "business", "queue", "agent", "last_agent",
                "routing_source", "wrap_up_code", "case_id", "message_count", "created_at", "closed_at",
                "requester", "messaging_profile"):
        if i.get(key) not in (None, ""):
            head.add_row(key, str(i[key]))
    if doc.get("customer_opted_out"):
        head.add_row("consent", "the customer opted out (STOP): nothing is sent to them")
    if i.get("profile_conflict"):  # docs/sms.md: an agent links the profile to the right requester
        head.add_row("requester check", str(i["profile_conflict"]))
    out.print(head)
    history = Table("at", "transition", "agent", "queue", "note", title="history")
    for h in doc["history"]:
        history.add_row(h["at"], f"{h['from_state'] or '-'} → {h['to_state']}", h["agent"] or "-",
                        h["queue"] or "-", h["note"] or "")
    out.print(history)
    threaded = any((m.get("body") or {}).get("threading") for m in doc["messages"])
    columns = ("at", "direction", "kind", "text", "status") + (("threading",) if threaded else ())
    messages = Table(*columns, title="messages")
    for m in doc["messages"]:
        body = m.get("body") or {}
        row = [m["created_at"], m["direction"], m["kind"] or "-", (body.get("text") or "")[:80], m["status"] or "-"]
        if threaded:  # mail: the rule and score that put the message here, and why
            decision = body.get("threading") or {}
            row.append(f"{decision['rule']} {decision['score']}: {decision['detail']}" if decision else "-")
        messages.add_row(*row)
    out.print(messages)


@app.command()
def summary(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Interaction id (or a unique prefix or suffix of it).")],
    config: ConfigOpt = None, url: UrlOpt = None, as_json: JsonOpt = False,
) -> None:
    """A summary of one interaction's thread: a plugin's (omnisdk_summarize), else the core's
    local extractive one."""
    from omnisdk.model import Interaction

    if url:
        found = _from_gateway(url, lambda api: _or_none(lambda: api.summary(ident)))
        doc = found.model_dump(mode="json") if found is not None else None
    else:
        settings = _settings(config)
        found = _read_db(settings, lambda tx: _interaction_from_db(tx, ident))
        doc = None
        if found is not None:
            inter = Interaction.model_validate(found["interaction"])
            doc = {"interaction_id": inter.id,
                   "summary": _host(settings).omnisdk_summarize(inter, found["messages"])}
    if doc is None:
        err.print(f"no interaction {ident}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        out.print(doc["summary"] or "(no text in this thread)", markup=False, highlight=False)


_CASE_FIELDS = {"id", "number", "subject", "customer", "interaction_ids", "created_at", "state", "product",
                "state_history"}


@app.command()
def cases(
    config: ConfigOpt = None, url: UrlOpt = None, as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many (newest first).")] = 50,
    cursor: Annotated[Optional[str], typer.Option(help="The next page: the cursor the last page printed.")] = None,
) -> None:
    """Cases opened from interactions, newest (highest number) first, one page at a time."""
    if url:
        page = _from_gateway(url, lambda api: api.list_cases(limit=limit, cursor=cursor))
    else:
        def read(tx: Any) -> Any:
            try:
                return tx.page_cases(limit=limit, cursor=cursor)
            except ValueError as exc:
                err.print(str(exc))
                raise typer.Exit(2) from None

        page = _read_db(_settings(config), read)
    items = [c.model_dump(mode="json", include=_CASE_FIELDS) for c in page.items]
    if as_json:
        print(json.dumps(items, indent=2))
        return
    table = Table("case", "state", "subject", "customer", "interactions", "created")
    for c in items:
        table.add_row(c["number"], c["state"], c["subject"], c["customer"],
                      ", ".join(x[-12:] for x in c["interaction_ids"]), c["created_at"])
    out.print(table)
    if page.next_cursor:
        out.print(f"more: --cursor {page.next_cursor}")


config_app = typer.Typer(no_args_is_help=True, help="Check the configuration, or show it with secrets masked.")
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(config: ConfigOpt = None) -> None:
    """Validate the configuration as ``serve`` would, without serving: the file and the
    environment, every account against its plugin's settings model, accounts of plugins that
    are not loaded, ``[plugins] modules`` that do not import, channels no plugin declares.

    Prints one line, ``configuration OK: …`` (exit 0), or the error (exit 4).  Plugins that
    failed to load are reported on stderr, as ``serve`` does.
    """
    from omnisdk.runtime import Runtime

    settings, host = _load(config)
    for name in settings.plugins.modules:
        if name in host.failures:
            _config_error(f"plugins.modules: {name} not loaded: {host.failures[name]}")
    try:
        runtime = Runtime(settings, host=host)  # builds every adapter; opens nothing
    except ConfigError as exc:
        _config_error(exc)
    for name, why in host.failures.items():
        err.print(f"[yellow]plugin {escape(name)} not loaded:[/yellow] {escape(why)}")
    accounts = sorted(f"{plugin}/{account}" for plugin, account in runtime.adapters)
    plugins = sorted(i.name for i in host.describe())
    out.print(f"configuration OK: {len(accounts)} account{'' if len(accounts) == 1 else 's'}"
              f" ({', '.join(accounts) or 'none'}) · plugins {', '.join(plugins) or 'none'}"
              f" · store {_store_label(settings.store.url)}", markup=False, highlight=False, soft_wrap=True)


@config_app.command("show")
def config_show(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Print the effective configuration (file, secret files, environment and defaults merged;
    accounts as their plugin's model reads them) as TOML, or JSON with ``--json``.  Every
    secret is shown as ``********``: SecretStr fields, a store URL's password, and every value
    of an account whose plugin is not loaded.  Exit 4 on an invalid configuration."""
    from omnisdk.config_view import masked_settings, to_json, to_toml

    settings, host = _load(config)
    doc = masked_settings(settings, {name: cls.Settings for name, cls in host.omnisdk_adapters().items()})
    sys.stdout.write(to_json(doc) + "\n" if as_json else to_toml(doc))
    sys.stdout.flush()


import_app = typer.Typer(no_args_is_help=True, help="Bring existing conversations, or the user directory, into the store.")
app.add_typer(import_app, name="import")


@import_app.command("email")
def import_email(
    path: Annotated[Path, typer.Argument(help="An mbox file, a Maildir, or a folder of .eml files.")],
    config: ConfigOpt = None,
    account: Annotated[Optional[str], typer.Option(help="The email account (default: the only one).")] = None,
    as_json: JsonOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Into a throwaway store: see what would happen.")] = False,
) -> None:
    """Import mail through the email account's adapter and the core's threader (the live path),
    in input order, with a progress bar.  No acknowledgement is sent for imported mail.

    With --json, one line per mail, in input order: file (the .eml name, Maildir key or mbox
    index), message_id, interaction, case, rule, score (and error for a refused mail).  Exit 2
    with one line on a missing or unreadable mailbox; 4 on a configuration error.
    """
    import mailbox
    import tempfile

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from omnisdk.inbox.mail_import import import_mail, read_mailbox
    from omnisdk.runtime import Runtime

    settings, host = _load(config)
    accounts = sorted(settings.accounts.get("email", {}))
    if account is None and len(accounts) != 1:
        _config_error(f"name the email account with --account (configured: {', '.join(accounts) or 'none'})")
    adapter = _adapter(settings, host, "email", account or accounts[0])
    try:
        items = list(read_mailbox(path))
    except (OSError, ValueError, mailbox.Error) as exc:
        err.print(f"cannot read the mailbox at {path}: {exc}", markup=False)
        raise typer.Exit(2) from None
    scratch = tempfile.TemporaryDirectory() if dry_run else None
    update: dict[str, Any] = {"routing": settings.routing.model_copy(update={"acknowledgement": None})}
    if scratch is not None:
        update["store"] = settings.store.model_copy(update={"url": f"sqlite:///{scratch.name}/dry-run.db"})
    runtime = Runtime(settings.model_copy(update=update), host=host)

    async def run() -> list[Any]:
        done: list[Any] = []
        await runtime.store.open()
        try:
            await runtime.processor.restore()
            progress = Progress(TextColumn("import"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=err, transient=True, disable=as_json and not err.is_terminal)
            with progress:
                task = progress.add_task("import", total=len(items))
                async for item in import_mail(runtime, runtime.adapter("email", adapter.account) or adapter, items):
                    done.append(item)
                    progress.advance(task)
                    if as_json:
                        print(json.dumps(item.to_dict()), flush=True)
        finally:
            await runtime.store.close()
        return done

    try:
        done = asyncio.run(run())
    finally:
        if scratch is not None:
            scratch.cleanup()
    refused = sum(1 for d in done if d.error)
    if not as_json:
        rules: dict[str, int] = {}
        for d in done:
            if d.rule:
                rules[d.rule] = rules.get(d.rule, 0) + 1
        out.print(f"imported {len(done) - refused} of {len(done)} mails"
                  + (" (dry run: nothing kept)" if dry_run else "") + "; "
                  + ", ".join(f"{k} {v}" for k, v in sorted(rules.items())), markup=False)
        for d in done:
            if d.error:
                out.print(f"refused {d.file}: {d.error}", markup=False)


@app.command("migrate-store")
def migrate_store(
    to: Annotated[str, typer.Option("--to", help=(
        "The empty PostgreSQL store to fill: postgresql://USER@HOST:PORT/DATABASE[?schema=NAME]."))],
    config: ConfigOpt = None,
) -> None:
    """Copy the configured SQLite store (store.url, and store.inbox_url if set) into an empty
    PostgreSQL store, in one transaction, printing progress; then point store.url at it.  Stop
    the server first: the SQLite file is only read."""
    import time

    from omnisdk.store.sqlite import SQLiteStore

    settings = _settings(config)
    try:
        lite = open_store(settings.store.url, inbox_url=settings.store.inbox_url)
        target = open_store(to)
    except ConfigError as exc:
        _config_error(exc)
    if not isinstance(lite, SQLiteStore):
        _config_error("migrate-store copies from a SQLite store: store.url must be a sqlite:/// URL")
    try:
        from omnisdk.store.postgres.from_sqlite import copy_sqlite_to_postgres
        from omnisdk.store.postgres.store import PostgresStore
    except ImportError:
        _config_error("migrate-store needs psycopg: pip install 'omnisdk[postgres]'")
    if not isinstance(target, PostgresStore):
        _config_error("--to must be a postgresql:// URL")

    def progress(step: Any) -> None:
        if step.done:
            err.print(f"{step.table}: {step.rows:,} rows")
        else:
            err.print(f"{step.table}: {step.rows:,} rows …")

    started = time.perf_counter()
    try:
        copied = copy_sqlite_to_postgres(lite, target, progress)
    except StoreError as exc:
        err.print(f"migrate-store failed, nothing was copied: {exc}")
        raise typer.Exit(1) from None
    out.print(f"copied {sum(copied.values()):,} rows in {len(copied)} tables from {lite.location} to "
              f"{target.location} in {time.perf_counter() - started:.1f} s; now set [store] url = "
              f"\"{_store_label(to)}\" (and remove inbox_url)", soft_wrap=True)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where the demo's database and config go.")] = Path(".omnisdk-demo"),
    open_: Annotated[bool, typer.Option("--open", help=(
        "Then leave the gateway running with the agent console and the web chat's sample portal "
        "page; print both URLs and a demo agent's API key (Ctrl-C stops it)."))] = False,
    bus: Annotated[Optional[str], typer.Option("--bus", help=(
        "Also publish the core events to NATS JetStream at this URL (nats://127.0.0.1:4222; events out, "
        "docs/scale-out.md); read them with examples/crm_consumer.py."))] = None,
) -> None:
    """The main job: run the gateway on SQLite, replay real provider payloads over HTTP, report."""
    from omnisdk.bus.settings import BusSettings
    from omnisdk.demo import run_demo

    try:
        bus_settings = BusSettings(url=bus) if bus else None
    except ValueError as exc:
        err.print(f"--bus: {exc}")
        raise typer.Exit(2) from None
    try:
        code = asyncio.run(run_demo(workdir, out, keep_open=open_, bus=bus_settings))
    except KeyboardInterrupt:
        if not open_:
            raise
        code = 0  # --open: Ctrl-C is how the gateway is stopped
    raise typer.Exit(code)


from omnisdk.cli_directory import import_directory  # noqa: E402  (omnisdk import directory)
from omnisdk.cli_keys import keys_app  # noqa: E402  (omnisdk keys …)

import_app.command("directory")(import_directory)

app.add_typer(keys_app, name="keys")

from omnisdk.cli_calls import call_app  # noqa: E402  (omnisdk call …)

app.add_typer(call_app, name="call")

from omnisdk.testkit.cli import certify as _certify  # noqa: E402  (the test kit's commands)
from omnisdk.testkit.cli import new_plugin as _new_plugin  # noqa: E402

app.command("certify")(_certify)
app.command("new-plugin")(_new_plugin)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
