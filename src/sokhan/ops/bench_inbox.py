"""``sokhan bench inbox``: the inbox list API and page under a constant request rate, on PostgreSQL.

What one run does (see ``bench/inbox.md``):

1. Creates the database named by ``DATABASE_URL`` if it does not exist, and migrates it.
2. Loads a scratch workspace (slug ``bench-inbox``): five members (an owner and four agents), three
   teams, twenty tags, ten channels, ``--conversations`` conversations and ``--messages`` messages
   spread over six months, statuses, priorities, assignees, teams, tags, languages and sentiments;
   with ``COPY``, then ``VACUUM (ANALYZE)``. A workspace already loaded with the same sizes is reused,
   so a second run starts in seconds (``--reload`` loads it again, ``--drop`` only deletes it).
3. Starts ``sokhan serve --no-worker`` (one web process per core by default on PostgreSQL) on a free
   127.0.0.1 port (``SOKHAN_DEBUG=0`` and the API rate limit off, since one token makes every
   request), with a fresh read-only API token and a signed-in session of the owner.
4. For each target — ``api_list`` (open conversations), ``api_filtered`` (one agent's conversations
   with one tag, any status) and ``page`` (``/w/bench-inbox/inbox/`` with the session cookie) — runs
   ``wrk`` twice: first unpaced for ``--warmup`` seconds (2 threads, 8 connections: the capacity,
   ``max_rps``), then **paced** at ``--rate`` requests per second for ``--seconds``.

Plain ``wrk`` (Debian's) has no rate control, so the paced run uses a Lua script with ``wrk2``'s
semantics: one connection per ``wrk`` thread, each sending on a fixed schedule (``rate / connections``
per second, starts staggered), and a request's latency counts from when it was *due*, not when it
went out, so a slow answer that holds up the next request is charged to it (no coordinated
omission). Prints one JSON line per target: ``target``, ``rate``, ``requests``, ``p50_ms``,
``p99_ms``, ``errors`` (non-2xx answers, timeouts, socket errors) and more.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sokhan.ops.bench_publish import BenchError, ensure_database

SLUG = "bench-inbox"
MARKER = "sokhan bench inbox v1: {conversations} conversations / {messages} messages"
TAGS = (
    "billing",
    "bug",
    "complaint",
    "delivery",
    "feature",
    "question",
    "refund",
    "vip",
    "urgent-review",
    "press",
    "partnership",
    "spam",
    "praise",
    "pricing",
    "store",
    "wholesale",
    "jobs",
    "returns",
    "coupon",
    "app",
)
FILTER_TAG = "refund"  # on about one conversation in twelve
TEXTS = (
    "سلام، سفارشم هنوز نرسیده. کی ارسال می‌شود؟",
    "قهوه‌ی جدیدتان عالی بود، ممنون!",
    "چرا قیمت‌ها دوباره بالا رفت؟ خیلی ناراحتم.",
    "ساعت کاری شعبه‌ی تجریش چیست؟",
    "کد تخفیف کار نمی‌کند.",
    "Hi, is the Ethiopian roast back in stock?",
    "Worst customer service ever, nobody answers.",
    "Love the new cups! Where can I buy them?",
    "Can I change the delivery address of my order?",
    "Do you ship to Mashhad?",
)
REPLIES = (
    "سلام، ممنون از پیامتان. بررسی می‌کنیم و خبر می‌دهیم.",
    "Thanks for reaching out! We'll check and get back to you.",
    "سفارش شما فردا ارسال می‌شود.",
)

# The paced load (see the module docstring). ``delay`` runs before each request of a connection
# and ``request`` as it goes out; both in the connection's own thread (one connection per thread).
PACE_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } sokhan_timespec;
int clock_gettime(int clk_id, sokhan_timespec *tp);
]]
local ts = ffi.new("sokhan_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local count = 0
function setup(thread)
  thread:set("index", count)
  count = count + 1
  table.insert(threads, thread)
end

function init(args)
  rate = tonumber(os.getenv("SOKHAN_BENCH_RATE") or "0")
  local connections = tonumber(os.getenv("SOKHAN_BENCH_CONNECTIONS") or "1")
  paced = rate > 0
  if paced then
    interval = connections * 1000 / rate
    slot = now_ms() + index * 1000 / rate
  end
  lat = {}
  bad = 0
end

function delay()
  if not paced then return 0 end
  local wait = slot - now_ms()
  if wait > 0 then return math.ceil(wait) end
  return 0
end

function request()
  local now = now_ms()
  if paced then
    due = math.max(slot, now)  -- a request that is late counts from when it was due
    slot = slot + interval
  else
    due = now
  end
  return wrk.format()
end

function response(status, headers, body)
  lat[#lat + 1] = now_ms() - due
  if status < 200 or status > 299 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local all = {}
  local bad_total = 0
  for _, thread in ipairs(threads) do
    for _, v in ipairs(thread:get("lat")) do all[#all + 1] = v end
    bad_total = bad_total + thread:get("bad")
  end
  table.sort(all)
  local function pct(q)
    if #all == 0 then return 0 end
    local rank = math.max(1, math.min(#all, math.ceil(q * #all)))
    return all[rank]
  end
  local e = summary.errors
  io.write(string.format(
    'SOKHAN_BENCH {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, ' ..
    '"max_ms": %.2f, "non_2xx": %d, "socket_errors": %d, "timeouts": %d, "wrk_p99_ms": %.2f}\n',
    #all, summary.duration / 1e6, pct(0.50), pct(0.90), pct(0.99), pct(1.0), bad_total,
    e.connect + e.read + e.write, e.timeout, latency:percentile(99) / 1000))
end
"""


@dataclass(frozen=True)
class Options:
    conversations: int = 100_000
    messages: int = 1_000_000
    rate: int = 200  # requests per second of the paced runs
    seconds: int = 30  # length of each paced run
    warmup: int = 10  # length of each unpaced run before it (warms caches, measures capacity)
    connections: int = 32  # of the paced runs: one wrk thread each
    server_threads: int = 16
    # ``None``: as ``sokhan serve`` is deployed (``SOKHAN_DB_CONN_MAX_AGE``'s default, one web
    # process per core on PostgreSQL); otherwise ``--processes`` and database connections kept this long.
    conn_max_age: int | None = None
    processes: int | None = None
    targets: tuple[str, ...] = ("api_list", "api_filtered", "page")
    reload: bool = False
    explain: bool = False


@dataclass
class Scratch:
    workspace_id: int
    slug: str
    owner_id: int
    agent_ids: list[int]
    reused: bool = False
    load_seconds: float = 0.0


@dataclass
class Target:
    name: str
    path: str
    headers: list[str] = field(default_factory=list)


def check_database() -> dict[str, Any]:
    """The default database's settings; refuses anything but PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        raise BenchError(
            "sokhan bench inbox needs PostgreSQL: it measures the inbox on the database it is deployed with, "
            "and loading a million messages into SQLite would say nothing about that. Set DATABASE_URL, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/sokhan_bench"
        )
    return dict(connection.settings_dict)


# ----------------------------------------------------------------------------- loading


def _copy(model: Any, given: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """``COPY`` ``rows`` (values of the ``given`` attnames) into ``model``'s table; every other column
    that needs a value gets the field's default, so columns added later do not break the loader."""
    from django.db import connection
    from psycopg import sql

    extra = [
        f
        for f in model._meta.concrete_fields
        if f.attname not in given and not f.primary_key and (f.has_default() or not f.null)
    ]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in extra)
    columns = [model._meta.get_field(name).column for name in given] + [f.column for f in extra]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    count = 0
    raw = connection.connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row + defaults)
            count += 1
    return count


def _reserve_ids(model: Any, n: int) -> list[int]:
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n])
        return [int(row[0]) for row in cursor.fetchall()]


def find_scratch(options: Options) -> Scratch | None:
    """The loaded scratch workspace if its sizes match ``options``."""
    from sokhan.core.models import Membership, Workspace
    from sokhan.core.permissions import Role

    workspace = Workspace.objects.filter(slug=SLUG).first()
    if workspace is None:
        return None
    if workspace.description != MARKER.format(conversations=options.conversations, messages=options.messages):
        return None
    members = Membership.objects.filter(workspace=workspace).order_by("user_id")
    owner = members.filter(role=Role.OWNER).values_list("user_id", flat=True).first()
    agents = list(members.filter(role=Role.EDITOR).values_list("user_id", flat=True))
    if owner is None or not agents:
        return None
    return Scratch(workspace.pk, SLUG, owner, agents, reused=True)


def drop_scratch(log: Callable[[str], None] = lambda message: None) -> bool:
    """Delete the scratch workspace, its inbox rows first in bulk (the ORM's cascade would load a
    million messages into memory), then the rest through the ORM. Returns whether there was one."""
    from django.db import transaction

    from sokhan.core.models import AuditEvent, User, Workspace
    from sokhan.inbox.models import Conversation, Message, Note, Presence, RuleHit

    workspace = Workspace.objects.filter(slug=SLUG).first()
    if workspace is None:
        return False
    started = time.monotonic()
    users = list(User.objects.filter(email__startswith="bench-inbox-", email__endswith="@example.invalid"))
    with transaction.atomic():
        RuleHit.objects.filter(workspace=workspace)._raw_delete(RuleHit.objects.db)
        Note.mentions.through.objects.filter(note__workspace=workspace).delete()
        Note.objects.filter(workspace=workspace)._raw_delete(Note.objects.db)
        Presence.objects.filter(workspace=workspace)._raw_delete(Presence.objects.db)
        Conversation.tags.through.objects.filter(conversation__workspace=workspace)._raw_delete(Message.objects.db)
        Message.objects.filter(workspace=workspace)._raw_delete(Message.objects.db)
        Conversation.objects.filter(workspace=workspace)._raw_delete(Conversation.objects.db)
        AuditEvent.objects.filter(workspace=workspace).delete()
        workspace.delete()
        User.objects.filter(pk__in=[u.pk for u in users]).delete()
    log(f"dropped the scratch workspace in {time.monotonic() - started:.1f} s")
    return True


def load_scratch(options: Options, *, log: Callable[[str], None]) -> Scratch:
    """Create the scratch workspace with ``options.conversations`` conversations and
    ``options.messages`` messages (see the module docstring)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from sokhan.core.models import Membership, User, Workspace
    from sokhan.core.permissions import Role
    from sokhan.core.services import organization_get
    from sokhan.inbox.models import Conversation, Direction, Message, Priority, SendState, Sentiment, Status, Tag, Team
    from sokhan.ops.bench_sink import make_channel

    n, m = options.conversations, options.messages
    started = time.monotonic()
    rng = random.Random(20261122)  # noqa: S311 - test data, the same every time
    now = timezone.now().replace(microsecond=0)
    with transaction.atomic():
        marker = MARKER.format(conversations=n, messages=m)
        workspace = Workspace.objects.create(organization=organization_get(), name="Inbox bench", slug=SLUG)
        Workspace.objects.filter(pk=workspace.pk).update(description=marker)
        people = []
        for i in range(5):
            user = User.objects.create_user(f"bench-inbox-{i}@example.invalid", secrets.token_urlsafe(24))
            User.objects.filter(pk=user.pk).update(full_name=f"Agent {i}" if i else "Bench owner", language="en")
            Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER if i == 0 else Role.EDITOR)
            people.append(user.pk)
        owner, agents = people[0], people[1:]
        teams = [Team.objects.create(workspace=workspace, name=name).pk for name in ("Support", "Sales", "Social")]
        tags = [Tag.objects.create(workspace=workspace, name=name).pk for name in TAGS]
        channels = [
            make_channel(
                workspace, "http://127.0.0.1:9", remote_id=f"bench-{i}", target=f"bench-{i}", display_name=f"Brand {i}"
            ).pk
            for i in range(10)
        ]

        # How many messages each conversation has: at least one, heavy-tailed, exactly ``m`` in all.
        counts = [1] * n
        weights = [rng.paretovariate(1.5) for _ in range(n)]
        for i in rng.choices(range(n), weights=weights, k=max(0, m - n)):
            counts[i] += 1
        ids = _reserve_ids(Conversation, n)
        span = 180 * 86400
        conversations: list[tuple[Any, ...]] = []
        # What each conversation's messages look like; the rows themselves are generated while copying.
        plans: list[tuple[int, int, int, int, datetime, str, str, str, bool, str, str]] = []
        for i in range(n):
            last = now - timedelta(seconds=int(span * rng.random() ** 1.6))  # more recent activity
            status = rng.choices(Status.values, weights=[30, 10, 5, 55])[0]
            kind = rng.choices(["comment", "mention", "dm"], weights=[60, 25, 15])[0]
            language = "fa" if rng.random() < 0.7 else "en"
            sentiment = rng.choices(Sentiment.values, weights=[10, 30, 40, 20])[0]
            k = counts[i]
            # The last message is received when the conversation waits for the team.
            last_in = status in (Status.OPEN, Status.PENDING) or rng.random() < 0.3
            awaiting = last if status == Status.OPEN and last_in else None
            text = rng.choice(TEXTS) if last_in else rng.choice(REPLIES)
            handle = f"user{rng.randrange(60_000)}"
            conversations.append(
                (
                    ids[i],
                    workspace.pk,
                    channels[i % len(channels)],
                    kind,
                    f"bench-{i}",
                    f"acct-{handle}",
                    handle,
                    f"Contact {handle[4:]}",
                    status,
                    now + timedelta(days=rng.randint(1, 5)) if status == Status.SNOOZED else None,
                    rng.choices(Priority.values, weights=[10, 70, 15, 5])[0],
                    rng.choice(agents) if rng.random() < 0.6 else None,
                    rng.choice(teams) if rng.random() < 0.3 else None,
                    language,
                    sentiment,
                    k,
                    last,
                    last,
                    awaiting,
                    text,
                    1 + k,
                    last - timedelta(seconds=k * 1800),
                    last,
                    last if status == Status.CLOSED else None,
                )
            )
            plans.append(
                (
                    i,
                    ids[i],
                    channels[i % len(channels)],
                    k,
                    last,
                    kind,
                    language,
                    sentiment,
                    last_in,
                    handle,
                    f"acct-{handle}",
                )
            )
        log(f"generated {n:,} conversations in {time.monotonic() - started:.1f} s; copying")
        _copy(
            Conversation,
            [
                "id",
                "workspace_id",
                "channel_id",
                "kind",
                "thread_key",
                "contact_remote_id",
                "contact_handle",
                "contact_name",
                "status",
                "snoozed_until",
                "priority",
                "assignee_id",
                "team_id",
                "language",
                "sentiment",
                "message_count",
                "last_message_at",
                "last_inbound_at",
                "awaiting_since",
                "preview",
                "version",
                "created_at",
                "updated_at",
                "closed_at",
            ],
            conversations,
        )
        # Tags: none on about half, up to three on the rest; FILTER_TAG on about one in twelve.
        tag_weights = [8 if name == FILTER_TAG else 3 for name in TAGS]

        def tag_rows() -> Iterator[tuple[int, int]]:
            for conversation_id in ids:
                chosen = set(rng.choices(tags, weights=tag_weights, k=rng.choice((0, 0, 1, 1, 2, 3))))
                for tag_id in chosen:
                    yield conversation_id, tag_id

        tagged = _copy(Conversation.tags.through, ["conversation_id", "tag_id"], tag_rows())
        log(f"copied {n:,} conversations and {tagged:,} tag links in {time.monotonic() - started:.1f} s")

        def message_rows() -> Iterator[tuple[Any, ...]]:
            for i, conversation_id, channel_id, k, last, kind, language, sentiment, last_in, handle, author in plans:
                at = last - timedelta(seconds=(k - 1) * 1800)
                for j in range(k):
                    final = j == k - 1
                    inbound = last_in if final else rng.random() < 0.65
                    yield (
                        workspace.pk,
                        conversation_id,
                        channel_id,
                        f"b{i}-{j}",
                        Direction.IN if inbound else Direction.OUT,
                        kind,
                        rng.choice(TEXTS) if inbound else rng.choice(REPLIES),
                        author if inbound else "",
                        handle if inbound else "",
                        at,
                        at,
                        language,
                        sentiment if inbound else "",
                        at + timedelta(minutes=20) if inbound and not final else None,
                        inbound,
                        None if inbound else rng.choice(agents),
                        SendState.RECEIVED if inbound else SendState.SENT,
                    )
                    at += timedelta(seconds=1800)

        copied = _copy(
            Message,
            [
                "workspace_id",
                "conversation_id",
                "channel_id",
                "remote_id",
                "direction",
                "kind",
                "text",
                "author_remote_id",
                "author_handle",
                "created_at",
                "received_at",
                "language",
                "sentiment",
                "answered_at",
                "needs_response",
                "sent_by_id",
                "send_state",
            ],
            message_rows(),
        )
        log(f"copied {copied:,} messages in {time.monotonic() - started:.1f} s")
    with connection.cursor() as cursor:
        for table in ("inbox_conversation", "inbox_conversation_tags", "inbox_message", "inbox_tag"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    seconds = time.monotonic() - started
    log(f"loaded and analysed in {seconds:.1f} s")
    return Scratch(workspace.pk, SLUG, owner, agents, load_seconds=round(seconds, 1))


# ----------------------------------------------------------------------------- credentials, server


@dataclass(frozen=True)
class Credentials:
    token_id: int
    token: str
    session_key: str


def credentials(scratch: Scratch) -> Credentials:
    """A read-only API token and a signed-in session of the owner, for this run only (``forget``
    removes them; a run beside it has its own)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from sokhan.core.models import Membership, User
    from sokhan.core.services import token_create

    membership = Membership.objects.select_related("workspace", "user").get(
        workspace_id=scratch.workspace_id, user_id=scratch.owner_id
    )
    token, raw = token_create(actor=membership, name="sokhan bench inbox", scopes=["read"])
    user = User.objects.get(pk=scratch.owner_id)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return Credentials(token.pk, raw, str(store.session_key))


def forget(creds: Credentials) -> None:
    from importlib import import_module

    from django.conf import settings

    from sokhan.core.models import PersonalAccessToken

    PersonalAccessToken.objects.filter(pk=creds.token_id).delete()
    import_module(settings.SESSION_ENGINE).SessionStore(creds.session_key).delete()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_label(options: Options) -> str:
    label = f"sokhan serve --no-worker --threads {options.server_threads}"
    if options.processes is not None:
        label += f" --processes {options.processes}"
    if options.conn_max_age is not None:
        label = f"SOKHAN_DB_CONN_MAX_AGE={options.conn_max_age} {label}"
    return label


def start_servers(options: Options, port: int, log_path: Path) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ)
    env.update(
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "sokhan.config.settings"),
        SOKHAN_DEBUG="0",  # as deployed: no query log, no debug pages
        SOKHAN_API_RATE_LIMIT="0",  # one token makes every request; the limit is for people
    )
    if options.conn_max_age is not None:
        env["SOKHAN_DB_CONN_MAX_AGE"] = str(options.conn_max_age)
    command = [sys.executable, "-m", "sokhan.cli", "serve", "--no-worker", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--threads", str(options.server_threads)]
    if options.processes is not None:
        command += ["--processes", str(options.processes)]
    with log_path.open("ab") as out:
        return [subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)]


def with_children(pids: list[int]) -> list[int]:
    """``pids`` and their child processes (the extra web processes ``sokhan serve`` starts)."""
    found = list(pids)
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(entry.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent in pids:
            found.append(int(entry.parent.name))
    return found


def wait_ready(servers: list[subprocess.Popen[bytes]], url: str, headers: dict[str, str], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    last = ""
    while time.monotonic() < deadline:
        if any(server.poll() is not None for server in servers):
            raise BenchError(f"the server exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise BenchError(f"the server did not answer {url} within 120 s: {last}")


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU time of these processes (with their reaped children), from ``/proc``; None
    where there is no ``/proc``. Unlike latency, it hardly depends on what else the machine runs."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state is field 3; utime … cstime 14–17
        total += sum(int(value) for value in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def stop_servers(servers: list[subprocess.Popen[bytes]]) -> None:
    for server in servers:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ----------------------------------------------------------------------------- load


def run_wrk(
    script: Path, url: str, headers: list[str], *, rate: int, seconds: int, connections: int, threads: int
) -> dict[str, Any]:
    """One wrk run with the pacing script (``rate`` 0: as fast as it goes); its JSON summary."""
    env = dict(os.environ, SOKHAN_BENCH_RATE=str(rate), SOKHAN_BENCH_CONNECTIONS=str(connections))
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    command += ["-s", str(script)]
    for header in headers:
        command += ["-H", header]
    done = subprocess.run([*command, url], capture_output=True, text=True, env=env, timeout=seconds + 120, check=False)
    match = re.search(r"^SOKHAN_BENCH (\{.*\})$", done.stdout, re.M)
    if done.returncode != 0 or match is None:
        raise BenchError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-1000:]}")
    result: dict[str, Any] = json.loads(match.group(1))
    return result


def targets_for(scratch: Scratch, creds: Credentials) -> list[Target]:
    from django.conf import settings

    bearer = [f"Authorization: Bearer {creds.token}"]
    api = f"/api/v1/workspaces/{scratch.slug}/inbox/conversations"
    return [
        Target("api_list", f"{api}?status=open", bearer),
        Target("api_filtered", f"{api}?assignee={scratch.agent_ids[0]}&tags={FILTER_TAG}", bearer),
        Target("page", f"/w/{scratch.slug}/inbox/", [f"Cookie: {settings.SESSION_COOKIE_NAME}={creds.session_key}"]),
    ]


def explain(scratch: Scratch, log: Callable[[str], None]) -> None:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the two API targets' page queries, to the log."""
    from django.db import connection
    from django.http import QueryDict

    from sokhan.core.models import User, Workspace
    from sokhan.inbox.api import list_values
    from sokhan.inbox.queries import PAGE_SIZE, conversations_for, parse_filters

    workspace = Workspace.objects.get(pk=scratch.workspace_id)
    user = User.objects.get(pk=scratch.owner_id)
    for name, query in (
        ("api_list", "status=open"),
        ("api_filtered", f"assignee={scratch.agent_ids[0]}&tags={FILTER_TAG}"),
    ):
        rows = list_values(conversations_for(workspace, parse_filters(QueryDict(query)), user=user))
        sql, params = rows[: PAGE_SIZE + 1].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = "\n".join(str(row[0]) for row in cursor.fetchall())
        log(f"plan of {name} ({query}):\n{plan}")


def run(options: Options, *, log: Callable[[str], None] = lambda message: None) -> list[dict[str, Any]]:
    """One benchmark run (Django is set up on the database to use); one result dict per target."""
    from django.core.management import call_command
    from django.db import connection

    if options.conversations < 1 or options.messages < options.conversations:
        raise BenchError("--conversations must be at least 1 and --messages at least --conversations.")
    if options.rate < 1 or options.seconds < 1 or options.connections < 1:
        raise BenchError("--rate, --seconds and --connections must be at least 1.")
    if options.processes is not None and options.processes < 1:
        raise BenchError("--processes must be at least 1.")
    unknown = set(options.targets) - {"api_list", "api_filtered", "page"}
    if unknown:
        raise BenchError(f"unknown target(s): {', '.join(sorted(unknown))}")
    settings_dict = check_database()
    if not shutil.which("wrk"):
        raise BenchError("wrk is not installed (Debian: apt-get install -y wrk).")
    if ensure_database(settings_dict):
        log(f"created database {settings_dict['NAME']}")
    connection.close()
    call_command("migrate", verbosity=0, interactive=False)

    scratch = None if options.reload else find_scratch(options)
    if scratch is None:
        drop_scratch(log)
        log(f"loading {options.conversations:,} conversations / {options.messages:,} messages")
        scratch = load_scratch(options, log=log)
    else:
        log(f"reusing the loaded workspace {scratch.slug}")
    if options.explain:
        explain(scratch, log)
    creds = credentials(scratch)
    connection.close()  # the server and wrk get the machine; this process only waits
    try:
        return _measure(options, scratch, creds, log)
    finally:
        forget(creds)


def _measure(
    options: Options, scratch: Scratch, creds: Credentials, log: Callable[[str], None]
) -> list[dict[str, Any]]:

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="sokhan-bench-inbox-") as tmp:
        script = Path(tmp) / "pace.lua"
        script.write_text(PACE_LUA)
        log_path = Path(tmp) / "server.log"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        servers = start_servers(options, port, log_path)
        try:
            targets = [t for t in targets_for(scratch, creds) if t.name in options.targets]
            first = targets[0]
            headers = {name: value for name, _sep, value in (h.partition(": ") for h in first.headers)}
            wait_ready(servers, base + first.path, headers, log_path)
            time.sleep(5)  # the other web processes may still be starting; the first answered
            for target in targets:
                url = base + target.path
                log(f"{target.name}: unpaced for {options.warmup} s (warm-up, capacity)")
                natural = run_wrk(script, url, target.headers, rate=0, seconds=options.warmup, connections=8, threads=2)
                load_before = os.getloadavg()[0]
                log(f"{target.name}: {options.rate} requests/s for {options.seconds} s")
                pids = with_children([server.pid for server in servers])
                cpu_before = cpu_seconds(pids)
                paced = run_wrk(
                    script,
                    url,
                    target.headers,
                    rate=options.rate,
                    seconds=options.seconds,
                    connections=options.connections,
                    threads=options.connections,
                )
                cpu_after = cpu_seconds(pids)
                cpu_ms = None
                if cpu_before is not None and cpu_after is not None and paced["requests"]:
                    cpu_ms = round((cpu_after - cpu_before) * 1000 / paced["requests"], 2)
                errors = paced["non_2xx"] + paced["socket_errors"] + paced["timeouts"]
                results.append(
                    {
                        "target": target.name,
                        "path": target.path,
                        "rate": options.rate,
                        "requests": paced["requests"],
                        "achieved_rps": round(paced["requests"] / max(paced["seconds"], 1e-3), 1),
                        "p50_ms": paced["p50_ms"],
                        "p90_ms": paced["p90_ms"],
                        "p99_ms": paced["p99_ms"],
                        "max_ms": paced["max_ms"],
                        "errors": errors,
                        "target_met": errors == 0 and paced["p99_ms"] < 100,
                        "max_rps": round(natural["requests"] / max(natural["seconds"], 1e-3), 1),
                        "max_rps_p99_ms": natural["p99_ms"],
                        "server_cpu_ms_per_request": cpu_ms,
                        "load_1m": round(load_before, 2),
                        "load_mode": (
                            f"paced: wrk + Lua schedule, {options.connections} connections, "
                            "latency from the due time; max_rps: unpaced wrk, 2 threads, 8 connections"
                        ),
                        "conversations": options.conversations,
                        "messages": options.messages,
                        "server": server_label(options),
                        "reused_data": scratch.reused,
                    }
                )
        finally:
            stop_servers(servers)
    return results
