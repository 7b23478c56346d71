"""``badgegate-kiosk``: provision a kiosk, sync it, check badges, run a scanner.

Exit codes: 0 done, 1 error (not provisioned, refused, bad usage), 2 offline
(the server could not be reached), 3 revoked (the server refused this kiosk).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import os
import queue
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

import click
import platformdirs

from kiosk.client import Offline, ProtocolError, SyncClient, Timeout
from kiosk.decide import record_scan
from kiosk.decoders import DEFAULT_ORDER
from kiosk.i18n import LANGS
from kiosk.store import DB_NAME, KioskStore
from kiosk.sync import Syncer, SyncProgress, SyncSummary
from shared.decision import Verdict
from shared.sync import Scan
from shared.timefmt import iso, parse_iso, utcnow

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_OFFLINE = 2
EXIT_REVOKED = 3
EXIT_INTERRUPTED = 130

#: the quick push after a scan: give up fast, the background loop will retry
QUICK_TIMEOUT: Timeout = (1.0, 2.0)
#: a scanner that sends no Enter: a payload is complete after this pause
WEDGE_IDLE_S = 0.3
#: a line this long without a newline is flushed as a payload (not ours, surely)
WEDGE_MAX_BUFFER = 64 * 1024

log = logging.getLogger("kiosk")


def default_data_dir() -> str:
    return platformdirs.user_data_dir("badgegate-kiosk")


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"badgegate-kiosk: {message}", err=True)
    sys.exit(code)


def _exit_code(summary: SyncSummary) -> int:
    if summary.revoked:
        return EXIT_REVOKED
    if not summary.online:
        return EXIT_OFFLINE
    return EXIT_OK if summary.ok else EXIT_ERROR


def _reason(exc: BaseException) -> str:
    """An OS or SQLite error as a person reads it: ``Not a directory: '/x'``."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename!r}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _store_path(ctx: click.Context) -> Path:
    return Path(ctx.find_root().ensure_object(dict)["data_dir"]) / DB_NAME


def _store(ctx: click.Context) -> KioskStore:
    obj: dict[str, Any] = ctx.ensure_object(dict)
    store = obj.get("store")
    if store is None:
        try:
            store = KioskStore(obj["data_dir"])
        except (OSError, sqlite3.Error) as exc:  # a full disk, a read-only or corrupt file...
            path = _store_path(ctx)
            hint = " (it is a directory)" if path.is_dir() else ""
            _fail(f"cannot open the kiosk store at {path}: {_reason(exc)}{hint}")
        obj["store"] = store
        ctx.call_on_close(store.close)
    return store


def _provisioned_store(ctx: click.Context) -> KioskStore:
    store = _store(ctx)
    if not store.provisioned:
        _fail(f"this kiosk is not provisioned (data dir {store.data_dir}); run `provision`")
    return store


def _client(store: KioskStore, timeout: Timeout | None = None) -> SyncClient:
    server_url = store.get_meta("server_url") or ""
    token = store.get_meta("device_token")
    if timeout is None:
        return SyncClient(server_url, token)
    return SyncClient(server_url, token, timeout=timeout)


class _ProgressLine:
    """``sync: 45000 records, 9 pages`` on stderr (rewritten in place on a terminal)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.shown = False

    def __call__(self, p: SyncProgress) -> None:
        text = f"sync: {p.records} records, {p.pages} pages"
        if p.latest_seq and p.last_seq is not None and not p.reset:
            text += f" (seq {p.last_seq}/{p.latest_seq})"
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def verdict_json(verdict: Verdict, scan: Scan, latency_ms: float | None = None) -> dict[str, Any]:
    """The one JSON object printed per verdict."""
    out: dict[str, Any] = {
        "time": verdict.decided_at,
        "status": verdict.status,
        "reason": verdict.reason.value,
        "user_id": verdict.user_id,
        "name": verdict.name,
        "message": verdict.message,
        "http_status": verdict.http_status,
        "room_id": verdict.room_id,
        "session_id": verdict.session_id,
        "session_title": verdict.session_title,
        "direction": verdict.direction,
        "client_id": str(scan.client_id),
        "offline": scan.decided_offline,
    }
    if latency_ms is not None:
        out["latency_ms"] = round(latency_ms, 3)
    return out


def _echo_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))
    sys.stdout.flush()


# ---------------------------------------------------------------------------


class _KioskGroup(click.Group):
    """Every command: a store that fails once open (disk full, read-only, a bad
    sector) is one line on stderr and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except sqlite3.Error as exc:
            _fail(f"cannot write the kiosk store at {_store_path(ctx)}: {_reason(exc)}")


@click.group(cls=_KioskGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    envvar="BADGEGATE_KIOSK_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where kiosk.db lives [env BADGEGATE_KIOSK_DIR; default: the user data dir].",
)
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv: debug).")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, verbose: int) -> None:
    """BadgeGate kiosk: checks badges offline and syncs with the server."""
    # Ctrl-C (SIGINT) stops a command cleanly even when this process was started
    # with SIGINT ignored (nohup, a background job of a script inherit SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(
        stream=sys.stderr,
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.ensure_object(dict)["data_dir"] = data_dir or Path(default_data_dir())


@main.command()
@click.option(
    "--server", "server_url", required=True, help="The sync server, e.g. http://host:5000"
)
@click.option("--code", help="A one-time provisioning code.")
@click.option("--email", help="An organizer's email (instead of a code).")
@click.option("--password", help="Their password (prompted when --email is given without it).")
@click.option("--room", "room_id", help="The room id of a door kiosk (omit for a booth).")
@click.option("--name", help="A name for this kiosk.")
@click.option("--force", is_flag=True, help="Provision even with scans not yet sent.")
@click.pass_context
def provision(
    ctx: click.Context,
    server_url: str,
    code: str | None,
    email: str | None,
    password: str | None,
    room_id: str | None,
    name: str | None,
    force: bool,
) -> None:
    """Register this kiosk with the server, then run a first sync."""
    if not server_url.startswith(("http://", "https://")):
        raise click.UsageError("--server must be an http:// or https:// URL")
    if (code is None) == (email is None):
        raise click.UsageError("give either --code, or --email (and --password)")
    if email is not None and password is None:
        password = click.prompt("Password", hide_input=True, err=True)
    store = _store(ctx)
    waiting = store.queue_length()
    if waiting and not force:
        _fail(
            f"{waiting} scans are not yet confirmed by the server: run `sync` first,"
            " or --force (they stay queued and are sent with the new credential)"
        )
    client = SyncClient(server_url)
    try:
        answer = client.provision(
            code=code, email=email, password=password, room_id=room_id, name=name
        )
    except Offline as exc:
        _fail(f"cannot reach the server: {exc}", EXIT_OFFLINE)
    except ProtocolError as exc:
        fields = exc.body.get("fields") if isinstance(exc.body, dict) else None
        _fail(f"the server refused: {exc}" + (f" {fields}" if fields else ""))
    finally:
        client.close()
    kiosk = answer["kiosk"]
    event = answer.get("event") if isinstance(answer.get("event"), dict) else {}
    keys = answer.get("badge_keys")
    seal_key = answer.get("seal_key")
    store.provision(
        server_url,
        answer["device_token"],
        kiosk,
        event,
        keys if isinstance(keys, list) else None,
        seal_key if isinstance(seal_key, dict) else None,
    )
    place = (
        f"door of {kiosk.get('room_name') or kiosk.get('room_id')}"
        if kiosk.get("mode") != "booth"
        else "booth"
    )
    click.echo(
        f"provisioned kiosk {kiosk.get('name') or kiosk.get('id')} ({place})"
        f" for {(event or {}).get('name') or kiosk.get('event_id')}"
    )
    progress = _ProgressLine()
    with _client(store) as sync_client:
        summary = Syncer(store, sync_client, progress).sync_once()
    progress.done()
    click.echo(summary.line())
    sys.exit(_exit_code(summary))


@main.command()
@click.pass_context
def sync(ctx: click.Context) -> None:
    """Sync once (pull changes, push scans). Exit 0 synced, 2 offline, 3 revoked."""
    store = _provisioned_store(ctx)
    progress = _ProgressLine()
    with _client(store) as client:
        summary = Syncer(store, client, progress).sync_once()
    progress.done()
    click.echo(summary.line())
    sys.exit(_exit_code(summary))


def _data_age(last_sync: str | None, now: datetime | None = None) -> str:
    when = parse_iso(last_sync) if last_sync else None
    if when is None:
        return "aucune donnée synchronisée"
    local = when.astimezone()
    today = (now or datetime.now().astimezone()).date()
    if local.date() == today:
        return f"données de {local:%H:%M}"
    return f"données du {local:%d/%m} {local:%H:%M}"


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Online or not, data age, cursor, queue length, rejected scans."""
    info = _store(ctx).status()
    info["data_age"] = _data_age(info["last_sync"])
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    if not info["provisioned"]:
        click.echo("kiosque non provisionné (badgegate-kiosk provision --server URL ...)")
        return
    if info["revoked"]:
        state = "RÉVOQUÉ (le serveur refuse ce kiosque : à provisionner de nouveau)"
    elif info["online"] is None:
        state = "jamais synchronisé"
    else:
        state = "en ligne" if info["online"] else "hors ligne"
    place = (
        "stand (exposant)"
        if info["mode"] == "booth"
        else f"porte de {info['room_name'] or info['room_id']}"
    )
    counts = info["counts"]
    lines = [
        f"kiosque     : {info['kiosk_name'] or info['kiosk_id']}, {place}",
        f"événement   : {info['event_name'] or info['event_id']}",
        f"serveur     : {info['server_url']} ({state})",
        f"données     : {info['data_age']}"
        f" ({counts['member']} personnes, {counts['session']} sessions)",
        f"curseur     : {info['cursor']}",
        f"file        : {info['queue_length']} scans à envoyer, {info['rejected']} rejetés",
    ]
    if info["last_error"]:
        lines.append(f"erreur      : {info['last_error']}")
    for r in info["rejected_scans"]:
        lines.append(f"  rejeté {r['client_id']} du {r['scanned_at']}: {r['reject_reason']}")
    click.echo("\n".join(lines))


@main.command()
@click.argument("payload")
@click.pass_context
def verify(ctx: click.Context, payload: str) -> None:
    """Check one badge payload here and now; print the verdict as JSON and queue the scan.

    The verdict is printed as soon as the scan is stored (durable), before the
    quick push of the outbox; its ``offline`` says how it was decided (the
    store's view then). What the push did goes to stderr.
    """
    store = _provisioned_store(ctx)
    started = time.perf_counter()
    try:
        verdict, scan = record_scan(store, payload)
    except sqlite3.Error as exc:  # never a verdict that is not on disk
        _fail(f"cannot write the kiosk store at {store.path}: {_reason(exc)};"
              " the scan was not recorded")  # fmt: skip
    latency = (time.perf_counter() - started) * 1000
    _echo_json(verdict_json(verdict, scan, latency))
    if store.revoked:
        click.echo("push: revoked, the scan is kept but not sent", err=True)
        return
    try:
        with _client(store, QUICK_TIMEOUT) as client:
            pushed = Syncer(store, client).push_once(QUICK_TIMEOUT)
    except Exception as exc:  # the verdict is out and the scan stored: say it, exit 0
        log.debug("push after verify failed", exc_info=True)
        click.echo(f"push: failed ({type(exc).__name__}: {exc}); the scan stays queued", err=True)
        return
    click.echo(f"push: {pushed.line()}", err=True)


# -- leads (booth kiosks) -----------------------------------------------------


def _booth_store(ctx: click.Context) -> KioskStore:
    store = _provisioned_store(ctx)
    if store.get_meta("mode") != "booth":
        _fail(
            "`leads` is for booth kiosks: this kiosk checks badges at a door"
            " (it records no visitors); provision a booth kiosk with an exposant's login"
        )
    return store


def _local_time(text: str | None) -> str:
    when = parse_iso(text) if text else None
    return f"{when.astimezone():%Y-%m-%d %H:%M}" if when else "?"


def _leads_table(rows: list[dict[str, Any]]) -> str:
    header = ("heure", "nom", "organisation", "email", "notes", "id")
    cells = [
        (
            _local_time(r["scanned_at"]),
            r["name"] or "?",
            r["organisation"] or "-",
            r["email"] or "-",
            " ".join((r["notes"] or "").split()) or "-",
            r["client_id"][:8] + (" (à envoyer)" if r["sync"] == "pending" else ""),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *cells]
    )


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@click.option("--all", "every_scan", is_flag=True, help="Refused badges too (not leads).")
@click.pass_context
def leads(ctx: click.Context, as_json: bool, every_scan: bool) -> None:
    """A booth's visitors: list them (time, name, organisation, email, notes).

    \b
    badgegate-kiosk leads [--json]
    badgegate-kiosk leads note CLIENT_ID TEXT    (an id prefix is enough)
    badgegate-kiosk leads export FILE.xlsx
    """
    store = _booth_store(ctx)
    if ctx.invoked_subcommand is not None:
        return
    rows = store.leads(every_scan=every_scan)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("aucune visite")
        return
    click.echo(_leads_table(rows))
    waiting = sum(1 for r in rows if r["sync"] == "pending")
    click.echo(f"{len(rows)} visites, {waiting} à envoyer")


@leads.command("note")
@click.argument("client_id")
@click.argument("text")
@click.pass_context
def leads_note(ctx: click.Context, client_id: str, text: str) -> None:
    """Set the note of a visit (TEXT replaces it; "" clears it)."""
    from kiosk.store import StoreError

    store = _booth_store(ctx)
    prefix = client_id.strip().lower()
    found = [r["client_id"] for r in store.leads(every_scan=True)]
    matches = [c for c in found if c == prefix] or (
        [c for c in found if c.startswith(prefix)] if len(prefix) >= 4 else []
    )
    if not matches:
        _fail(f"no visit {client_id!r} (see `badgegate-kiosk leads`)")
    if len(matches) > 1:
        _fail(f"{client_id!r} names {len(matches)} visits: give more of the id")
    try:
        outcome = store.set_note(matches[0], text)
    except StoreError as exc:
        _fail(str(exc))
    click.echo(
        {
            "queued": "note saved; it goes to the server with the scan",
            "resent": "note saved; the visit is queued again to update the server",
            "rejected": "note saved here only: the server rejected this scan",
        }[outcome]
    )


@leads.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.pass_context
def leads_export(ctx: click.Context, path: Path) -> None:
    """Write the visits to an Excel file (the server's export_excel layout), offline."""
    from kiosk.leads import export_leads

    store = _booth_store(ctx)
    try:
        written = export_leads(store, path)
    except OSError as exc:
        _fail(f"cannot write {path}: {exc}")
    click.echo(f"{written} visites écrites dans {path}")


# -- run --wedge -------------------------------------------------------------


def _object_end(text: str) -> int:
    """Index just past the JSON object ``text`` starts with, or -1 if not complete."""
    depth = 0
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def split_payloads(buffer: str, final: bool = False) -> tuple[list[str], str]:
    """Cut complete payloads off ``buffer``: lines (CR or LF ends one; blank ones are
    ignored), then, in the unterminated rest, complete JSON objects (balanced
    braces). Returns the payloads and what is left; ``final`` flushes the rest."""
    payloads: list[str] = []
    lines = buffer.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    rest = lines.pop()
    payloads.extend(line.strip() for line in lines if line.strip())
    while True:
        rest = rest.lstrip()
        if not rest.startswith("{"):
            break
        end = _object_end(rest)
        if end == -1:
            break
        payloads.append(rest[:end])
        rest = rest[end:]
    if rest.strip() and (final or len(rest) > WEDGE_MAX_BUFFER):
        payloads.append(rest.strip())
        rest = ""
    return payloads, rest


def _read_chunks(fd: int, chunks: queue.Queue[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        chunks.put(chunk)
        if not chunk:
            return


def wedge_payloads(fd: int, idle: float = WEDGE_IDLE_S) -> Iterator[str]:
    """Badge payloads typed by a keyboard-wedge scanner on ``fd``, until EOF.

    A payload ends with Enter, or is a complete JSON object, or is followed by
    ``idle`` seconds of silence (a scanner configured without a suffix).
    """
    chunks: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=_read_chunks, args=(fd, chunks), daemon=True).start()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    while True:
        try:
            chunk = chunks.get(timeout=idle if buffer.strip() else 0.5)
        except queue.Empty:
            if buffer.strip():  # a pause after an unterminated payload: it is complete
                yield buffer.strip()
                buffer = ""
            continue
        if not chunk:  # EOF
            payloads, _ = split_payloads(buffer + decoder.decode(b"", final=True), final=True)
            yield from payloads
            return
        payloads, buffer = split_payloads(buffer + decoder.decode(chunk))
        yield from payloads


@contextlib.contextmanager
def _raw_terminal(fd: int) -> Iterator[None]:
    """On a terminal, read keys as typed (no line buffering, no echo): a scanner
    that sends no Enter still gets its payload read. Ctrl-C still interrupts."""
    try:
        import termios
    except ImportError:  # not POSIX
        yield
        return
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[3] &= ~(termios.ICANON | termios.ECHO)
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _start_syncer(store: KioskStore, interval: float) -> tuple[SyncClient, Syncer]:
    """The background sync loop of ``run`` (not started on a revoked kiosk)."""
    if store.revoked:
        click.echo("revoked: scans are decided and kept, but not sent", err=True)
    last_online: list[bool | None] = [None]

    def on_summary(summary: SyncSummary) -> None:
        if summary.online != last_online[0] or summary.revoked:
            click.echo(summary.line(), err=True)
            last_online[0] = summary.online

    client = _client(store)
    syncer = Syncer(store, client, interval=interval, on_summary=on_summary)
    if not store.revoked:
        syncer.start()
    return client, syncer


def _run_wedge(store: KioskStore, syncer: Syncer, idle: float) -> int:
    """Scan what the wedge types until EOF; the number of scans that could not be stored."""
    fd = sys.stdin.fileno()
    lost = 0
    with _raw_terminal(fd):
        for payload in wedge_payloads(fd, idle):
            started = time.perf_counter()
            try:
                verdict, scan = record_scan(store, payload)
            except Exception as exc:  # never show a verdict that is not on disk
                reason = _reason(exc)
                log.error("scan not recorded: the kiosk store: %s", reason)
                lost += 1
                latency = round((time.perf_counter() - started) * 1000, 3)
                _echo_json({"time": iso(utcnow()), "status": "error", "reason": "store_error",
                            "user_id": None, "name": None,
                            "message": f"scan not recorded: {reason}", "error": reason,
                            "offline": None, "latency_ms": latency})  # fmt: skip
                continue
            _echo_json(verdict_json(verdict, scan, (time.perf_counter() - started) * 1000))
            syncer.nudge()
    return lost


def event_json(event: Any, banner: Any) -> dict[str, Any]:
    """The JSON line of a camera/video/images verdict (a ``kiosk.scanner.ScanEvent``
    and its ``kiosk.screen.Banner``): :func:`verdict_json`'s fields, with
    ``message`` the screen's text (in ``--lang``), plus ``already_scanned``,
    ``source_frame`` and ``source_time`` (and ``source_file`` for images)."""
    verdict, scan = event.verdict, event.scan
    if verdict is None or scan is None:  # the store failed: nothing was recorded
        out: dict[str, Any] = {
            "time": event.time,
            "status": "error",
            "reason": "store_error",
            "user_id": None,
            "name": None,
            "message": banner.title,
            "error": event.error,
            "offline": None,
            "latency_ms": round(event.latency_ms, 3),
        }
    else:
        out = verdict_json(verdict, scan, event.latency_ms)
        out["time"] = event.time
        out["message"] = banner.title
        out["detail"] = verdict.detail
        if event.already_scanned:
            out["scanned_at"] = verdict.decided_at  # when it was recorded
    out["already_scanned"] = event.already_scanned
    out["source_frame"] = event.frame_index
    out["source_time"] = round(event.source_time, 3)
    if event.frame_name is not None:
        out["source_file"] = event.frame_name
    return out


def _open_source(
    camera: str | None,
    video: Path | None,
    images: Path | None,
    resolution: str,
    fps: float | None,
    loop: bool,
) -> Any:
    from kiosk.sources import (
        ImageDirSource,
        SourceError,
        VideoSource,
        open_camera,
        parse_resolution,
    )

    try:
        if video is not None:
            return VideoSource(video, fps=fps, loop=loop)
        if images is not None:
            return ImageDirSource(images, fps=fps, loop=loop)
        try:
            size = parse_resolution(resolution)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--resolution") from None
        return open_camera(camera if camera is not None else "0", size)
    except SourceError as exc:
        hint = "; use --video FILE or --images DIR" if video is None and images is None else ""
        _fail(f"{exc}{hint}")


def _has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _run_camera(store: KioskStore, syncer: Syncer, source: Any, options: dict[str, Any]) -> int:
    from kiosk.camera import KioskOptions, run_kiosk
    from kiosk.decoders import DecoderUnavailable, make_decoder
    from kiosk.scanner import Scanner

    try:
        decoder, note = make_decoder(options.pop("decoder"))
    except DecoderUnavailable as exc:
        _fail(str(exc))
    click.echo(f"{source.description}; {note}", err=True)
    scanner = Scanner(
        decoder,
        lambda payload: record_scan(store, payload),
        rescan_after=options.pop("rescan_after"),
        on_recorded=syncer.nudge,
    )
    name = store.get_meta("kiosk_name")
    kiosk_options = KioskOptions(title=f"BadgeGate - {name}" if name else "BadgeGate", **options)
    result = run_kiosk(
        store, source, scanner, lambda event, banner: _echo_json(event_json(event, banner)),
        kiosk_options,
    )  # fmt: skip
    click.echo(result.line(), err=True)
    return result.code


@main.command()
@click.option("--wedge", is_flag=True, help="Read payloads from a keyboard-wedge scanner (stdin).")
@click.option(
    "--camera",
    is_flag=False,
    flag_value="0",
    default=None,
    metavar="N|auto",
    help="Read badges from webcam N (the default source: camera 0). 'auto': camera 0"
    " if it opens and gives a frame, else exit 1.",
)
@click.option(
    "--video",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read badges from a video file, every frame in order.",
)
@click.option(
    "--images",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Read badges from the images of a directory, in file name order.",
)
@click.option(
    "--resolution", default="1280x720", show_default=True, help="Camera resolution asked for."
)
@click.option("--headless", is_flag=True, help="No window: only the JSON lines on stdout.")
@click.option("--fullscreen", is_flag=True, help="Full-screen window (f toggles it).")
@click.option(
    "--lang", type=click.Choice(LANGS), default="fr", show_default=True, help="Screen language."
)
@click.option(
    "--rescan-after",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds before the same badge is a new scan (a re-entry); until then it is"
    " 'already scanned', not queued.",
)
@click.option(
    "--banner-seconds",
    type=click.FloatRange(min=0.1),
    default=3.0,
    show_default=True,
    help="How long a verdict stays on screen.",
)
@click.option(
    "--decoder",
    type=click.Choice(DEFAULT_ORDER),
    default=None,
    help="QR decoder [default: the first that loads of " + ", ".join(DEFAULT_ORDER) + "].",
)
@click.option(
    "--sound/--no-sound", default=None, help="A tone per verdict [default: with a window]."
)
@click.option(
    "--fps",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Frame rate of --images [default 1] or --video [default: the file's]: the"
    " clock of debouncing.",
)
@click.option(
    "--direction",
    type=click.Choice(["in", "out"]),
    default=None,
    help="A door's way: entries or exits, kept for the next runs [default: as last"
    " set; a new kiosk: in]; d switches it in the window.",
)
@click.option("--loop", is_flag=True, help="--video/--images: start over at the end.")
@click.option("--interval", default=15.0, show_default=True, help="Seconds between syncs.")
@click.option("--idle", default=WEDGE_IDLE_S, hidden=True, help="Pause that ends a payload (s).")
@click.option(
    "--screenshot",
    envvar="BADGEGATE_KIOSK_SCREENSHOT",
    default=None,
    hidden=True,
    help="Save the rendered frame that first shows each banner ({n}: its number).",
)
@click.option(
    "--pace/--no-pace",
    default=None,
    hidden=True,
    help="Play a file at its frame rate [default: with a window].",
)
@click.pass_context
def run(
    ctx: click.Context,
    wedge: bool,
    camera: str | None,
    video: Path | None,
    images: Path | None,
    resolution: str,
    headless: bool,
    fullscreen: bool,
    lang: str,
    rescan_after: float,
    banner_seconds: float,
    decoder: str | None,
    sound: bool | None,
    fps: float | None,
    direction: str | None,
    loop: bool,
    interval: float,
    idle: float,
    screenshot: str | None,
    pace: bool | None,
) -> None:
    """Scan badges: one JSON line per verdict on stdout; sync in the background.

    The source is one of --camera (the default), --video, --images, or --wedge
    (a keyboard-wedge scanner, or any stdin: one payload per line). Door or
    booth comes from the kiosk's provisioning. With a window (not --headless):
    the camera image, the code outlined, a verdict banner, a status bar, and at
    a door its way (entry or exit: --direction, d switches it); q or Esc
    quits. Live camera frames are dropped, never queued, when decoding is
    slower than the camera; video and image frames are all processed, in order.
    """
    given = [n for n, v in (("--wedge", wedge), ("--camera", camera), ("--video", video),
                            ("--images", images)) if v]  # fmt: skip
    if len(given) > 1:
        raise click.UsageError(f"give one source, not {' and '.join(given)}")
    store = _provisioned_store(ctx)
    if direction is not None:
        if store.place().mode == "booth":
            raise click.UsageError("--direction is for a door kiosk: a booth scans visits")
        store.set_meta(direction=direction)
    source = None
    if not wedge:
        if not headless and not _has_display():
            _fail("no display (DISPLAY is not set): run with --headless, or from a desktop")
        source = _open_source(camera, video, images, resolution, fps, loop)
    client, syncer = _start_syncer(store, interval)
    interrupted = False
    code = EXIT_OK
    try:
        if source is None:
            lost = _run_wedge(store, syncer, idle)
            if lost:
                click.echo(f"{lost} scans could not be stored (see their JSON lines)", err=True)
                code = EXIT_ERROR
        else:
            options = {
                "decoder": decoder,
                "rescan_after": rescan_after,
                "headless": headless,
                "fullscreen": fullscreen,
                "lang": lang,
                "banner_seconds": banner_seconds,
                "sound": (not headless) if sound is None else sound,
                "screenshot": screenshot,
                "pace": pace,
            }
            code = _run_camera(store, syncer, source, options)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        syncer.stop(timeout=5.0)
        if source is not None:
            with contextlib.suppress(Exception):
                source.close()
    if not interrupted and not store.revoked:
        try:
            final = syncer.push_once(QUICK_TIMEOUT)
            click.echo(f"final push: {final.line()}", err=True)
        except Exception as exc:  # a store that cannot be written: the scans stay queued
            click.echo(f"final push: failed ({_reason(exc)})", err=True)
            code = code or EXIT_ERROR
    client.close()
    if interrupted:
        click.echo("stopped", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if code != EXIT_OK:
        sys.exit(code)


@main.command("demo-video")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--payload",
    "payloads",
    multiple=True,
    help="A badge payload to show (repeat it: one badge after the other).",
)
@click.option(
    "--payload-file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Payloads, one per line ('-': stdin), after the --payload ones.",
)
@click.option("--caption", "captions", multiple=True, help="A name under each code, in order.")
@click.option("--fps", type=click.FloatRange(min=1), default=15.0, show_default=True)
@click.option(
    "--hold",
    type=click.FloatRange(min=0.1),
    default=1.5,
    show_default=True,
    help="Seconds each badge is shown.",
)
@click.option(
    "--gap",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds of empty room between badges.",
)
@click.option("--size", default="1280x720", show_default=True, help="WIDTHxHEIGHT.")
def demo_video(
    out: Path,
    payloads: tuple[str, ...],
    payload_file: TextIO | None,
    captions: tuple[str, ...],
    fps: float,
    hold: float,
    gap: float,
    size: str,
) -> None:
    """Write a short video (.avi, MJPG) of badges held up to a kiosk, for
    `run --video OUT.avi` where there is no webcam."""
    from kiosk.demo_video import make_demo_video
    from kiosk.sources import parse_resolution

    every = list(payloads)
    if payload_file is not None:
        every += [line.strip() for line in payload_file if line.strip()]
    if not every:
        raise click.UsageError("give at least one --payload (or --payload-file)")
    try:
        dims = parse_resolution(size)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--size") from None
    try:
        video = make_demo_video(out, every, fps, hold=hold, gap=gap, size=dims,
                                captions=list(captions) or None)  # fmt: skip
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    spans = ", ".join(f"{s.first}-{s.last}" for s in video.segments)
    click.echo(
        f"wrote {video.path}: {video.frames} frames, {video.duration:.1f} s at {fps:g} fps;"
        f" badges on frames {spans}"
    )
