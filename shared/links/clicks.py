"""Clicks from the redirect to the `clicks` table: what travels, how it is enriched, how it is
stored. Used by the API (visitor hash, country, referrer domain on the hot path; the
PostgreSQL fallback when Redis is down) and by the worker (bot flag, device, unique flag, COPY).

Privacy: the raw IP never leaves the API process. The API turns it into a visitor hash (keyed
BLAKE2b of IP + user agent with a salt derived from the server secret and the UTC date, never
stored, so hashes cannot be linked across days) and a country code (offline lookup in the
database `geoip2fast` ships). Only those, the referrer's host name and the user agent (for the
bot and device classifiers) travel through Redis to the worker.

A stream entry carries many clicks (one XADD per flush, not per click): field `c` is a JSON
array of clicks, each `[click_id, brand_id_hex, link_id_hex, unix_ms, visitor_hash_hex,
country, referrer_domain, user_agent]`. Link and time are also inside the click id
(shared/links/clickid.py); they travel in the clear too so the worker need not decode ids.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import asyncpg
import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.links.clickid import LENGTH as CLICK_ID_LENGTH
from shared.models.enums import DeviceClass
from shared.secrets import derive_key

log = structlog.get_logger(__name__)

STREAM_FIELD = b"c"
CLICKS_PER_ENTRY = 1000  # bounds one stream entry (~250 bytes per click)
MAX_UA = 512  # characters of user agent carried and classified
MAX_REFERRER_DOMAIN = 253
UNIQUE_WINDOW_MS = 3_600_000  # one unique click per link, visitor and UTC clock hour
_UNIQUE_TTL_MS = 2 * UNIQUE_WINDOW_MS  # outlives the hour, so a lagging worker still dedupes
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# [click_id, brand_id_hex, link_id_hex, unix_ms, visitor_hash_hex, country, referrer_domain,
#  user_agent]
StreamClick = tuple[str, str, str, int, str, str | None, str | None, str]


class EnrichedClick(NamedTuple):
    """A `clicks` row, in COPY column order (see COLUMNS)."""

    clicked_at: datetime
    brand_id: str  # hex
    link_id: str  # hex
    click_id: str
    visitor_hash: bytes
    country: str | None
    device: str
    referrer_domain: str | None
    is_bot: bool
    is_unique: bool | None  # None: computed in SQL (the fallback path, without Redis)


COLUMNS = EnrichedClick._fields


# ------------------------------------------------------------------- API-side helpers
def referrer_domain(value: str) -> str | None:
    """The host of a Referer header, lower case, without user info or port; None if absent
    or not an absolute http(s) URL. String slicing only: this runs on the hot path."""
    scheme_end = value.find("://")
    if scheme_end <= 0 or value[:scheme_end].lower() not in ("http", "https"):
        return None
    rest = value[scheme_end + 3 :]
    for stop in "/?#":
        cut = rest.find(stop)
        if cut >= 0:
            rest = rest[:cut]
    rest = rest.rpartition("@")[2]
    host = rest[: rest.find("]") + 1] if rest.startswith("[") else rest.partition(":")[0]
    host = host.strip(".").lower()
    if not host or len(host) > MAX_REFERRER_DOMAIN:
        return None
    return host


class VisitorHasher:
    """Keyed hash of IP + user agent. The key is derived from the server secret and the UTC
    day, so the same visitor hashes differently tomorrow and the salt is never stored."""

    __slots__ = ("_day", "_key", "_root")

    def __init__(self, secret: bytes) -> None:
        self._root = derive_key(secret, "visitor")
        self._day = -1
        self._key = b""

    def day_key(self, day: int) -> bytes:
        """The salt for one UTC day (days since the epoch)."""
        return hashlib.blake2b(day.to_bytes(4, "big"), key=self._root, digest_size=32).digest()

    def hash(self, ip: str, user_agent: bytes, ms: int) -> bytes:
        day = ms // 86_400_000
        if day != self._day:
            self._key, self._day = self.day_key(day), day
        return hashlib.blake2b(
            ip.encode() + b"\x00" + user_agent, key=self._key, digest_size=16
        ).digest()


class CountryLookup:
    """Offline IP -> ISO country code with the IPv4+IPv6 database bundled in `geoip2fast`
    (~2.5 us per lookup, ~36 MB resident). Private, reserved and unknown addresses: None."""

    def __init__(self) -> None:
        from geoip2fast import GeoIP2Fast  # type: ignore[import-untyped]

        data = importlib.resources.files("geoip2fast") / "geoip2fast-ipv6.dat.gz"
        with importlib.resources.as_file(data) as path:
            self._db = GeoIP2Fast(geoip2fast_data_file=str(path), verbose=False)

    def country(self, ip: str) -> str | None:
        try:
            code = self._db.lookup(ip).country_code
        except Exception:
            return None
        return code if isinstance(code, str) and len(code) == 2 and code.isalpha() else None


# ------------------------------------------------------------------ worker-side helpers
_META = ".^$*+?{}[]|()"


def _alternatives(pattern: str) -> list[str] | None:
    """Every string `pattern` matches, if it is built only from literals, escaped
    punctuation, classes of plain characters (`[wW]`) and groups of literal alternatives
    (`(Bot|SiteAudit)`), at most 64 of them; None otherwise."""
    out = [""]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        options: list[str]
        if ch == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1].isalnum():
                return None
            options, i = [pattern[i + 1]], i + 2
        elif ch == "[":
            end = pattern.find("]", i)
            body = pattern[i + 1 : end]
            if end < 0 or not body or any(c in "^-\\[" for c in body):
                return None
            options, i = list(body), end + 1
        elif ch == "(":
            end = pattern.find(")", i)
            body = pattern[i + 1 : end]
            if end < 0 or any(c in _META.replace("|", "") or c == "\\" for c in body):
                return None
            options, i = body.split("|"), end + 1
        elif ch in _META:
            return None
        else:
            options, i = [ch], i + 1
        out = [prefix + option for prefix in out for option in options]
        if len(out) > 64:
            return None
    return out


@dataclass(frozen=True)
class _BotMatcher:
    anywhere: re.Pattern[str]  # substrings, as one trie-shaped regex
    prefixes: tuple[str, ...]  # patterns anchored with ^
    suffixes: tuple[str, ...]  # patterns anchored with $
    others: tuple[re.Pattern[str], ...]  # the few that are real regexes, one by one

    def match(self, user_agent: str) -> bool:
        return (
            self.anywhere.search(user_agent) is not None
            or user_agent.startswith(self.prefixes)
            or user_agent.endswith(self.suffixes)
            or any(p.search(user_agent) for p in self.others)
        )


def _trie_regex(words: Iterable[str]) -> str:
    """One regex matching any of `words`, shaped as a trie: Python's backtracking engine
    then tries a handful of branches per position instead of ~1,500 (40x faster)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        if "" in node:
            return ""  # a shorter word ends here: anything longer matches it too
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return build(trie)


@functools.lru_cache(maxsize=1)
def bot_matcher() -> _BotMatcher:
    """The crawler-user-agents list plus bots_extra.txt, compiled for speed: ~1,500 patterns
    as one alternation take ~300 us per user agent in Python's regex engine; split into
    substrings (a trie regex), prefixes, suffixes and a handful of true regexes, ~10 us."""
    data = importlib.resources.files("crawleruseragents") / "crawler-user-agents.json"
    patterns = [item["pattern"] for item in json.loads(data.read_text(encoding="utf-8"))]
    extra = importlib.resources.files("shared.links") / "bots_extra.txt"
    anywhere = [
        line.strip()
        for line in extra.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    prefixes: list[str] = []
    suffixes: list[str] = []
    others: list[re.Pattern[str]] = []
    expanded: list[str] = []
    for pattern in patterns:
        if pattern.startswith("(^| )"):  # at the start or after a space
            expanded += ["^" + pattern[5:], " " + pattern[5:]]
        elif "|" in _outside_groups(pattern) and not pattern.startswith("^"):
            expanded += pattern.split("|")
        else:
            expanded.append(pattern)
    for pattern in expanded:
        start, end = pattern.startswith("^"), pattern.endswith("$") and not pattern.endswith("\\$")
        body = pattern[1 if start else 0 : -1 if end else None]
        alts = None if (start and end) or "|" in _outside_groups(body) else _alternatives(body)
        if alts is None:
            others.append(re.compile(pattern))
        elif start:
            prefixes.extend(alts)
        elif end:
            suffixes.extend(alts)
        else:
            anywhere.extend(alts)
    return _BotMatcher(
        re.compile(_trie_regex(anywhere)), tuple(prefixes), tuple(suffixes), tuple(others)
    )


def _outside_groups(pattern: str) -> str:
    """`pattern` without its parenthesised groups (to spot a top-level `|`)."""
    return re.sub(r"\([^()]*\)", "", pattern)


_TABLET = re.compile(
    r"iPad|Tablet|tablet|Kindle|Silk/|PlayBook|Nexus (?:7|9|10)\b|SM-[TX]\d|"
    r"Android(?!.*Mobile)"
)
_MOBILE = re.compile(
    r"Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry|BB10|Opera Mini|IEMobile|webOS"
)


def is_bot(user_agent: str) -> bool:
    """Crawler list + link-preview fetchers; an empty user agent is a bot too."""
    if not user_agent.strip():
        return True
    return bot_matcher().match(user_agent)


def device_class(user_agent: str) -> DeviceClass:
    """mobile / tablet / desktop from the user agent (bots are classified by is_bot first).
    iPadOS Safari presents itself as desktop macOS and is counted as desktop."""
    if _TABLET.search(user_agent):
        return DeviceClass.TABLET
    if _MOBILE.search(user_agent):
        return DeviceClass.MOBILE
    return DeviceClass.DESKTOP


class UserAgentClassifier:
    """(is_bot, device) per user agent, memoised: a campaign's followers share few distinct
    user agents, and the bot test costs ~15 us uncached."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._cache: dict[str, tuple[bool, str]] = {}
        self._max = max_entries

    def classify(self, user_agent: str) -> tuple[bool, str]:
        found = self._cache.get(user_agent)
        if found is None:
            bot = is_bot(user_agent)
            found = (bot, DeviceClass.BOT.value if bot else device_class(user_agent).value)
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[user_agent] = found
        return found


# ------------------------------------------------------------------ stream encoding
def encode_entry(clicks: Sequence[StreamClick]) -> dict[bytes, bytes]:
    return {STREAM_FIELD: orjson.dumps(clicks)}


def decode_entry(fields: dict[bytes, bytes]) -> list[StreamClick]:
    """The clicks of one stream entry; malformed clicks are dropped (and logged)."""
    raw = fields.get(STREAM_FIELD)
    if raw is None:
        log.warning("click_entry_malformed", reason="no click field")
        return []
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("click_entry_malformed", reason="not JSON")
        return []
    out: list[StreamClick] = []
    for item in items if isinstance(items, list) else []:
        if (
            isinstance(item, list)
            and len(item) == 8
            and isinstance(item[0], str)
            and len(item[0]) == CLICK_ID_LENGTH
            and isinstance(item[1], str)
            and len(item[1]) == 32
            and isinstance(item[2], str)
            and len(item[2]) == 32
            and isinstance(item[3], int)
            and isinstance(item[4], str)
            and len(item[4]) == 32
            and isinstance(item[7], str)
        ):
            out.append(tuple(item))
        else:
            log.warning("click_malformed", item=repr(item)[:200])
    return out


# ------------------------------------------------------------------ enrichment
# KEYS: none (see below); ARGV[1] TTL ms, ARGV[2] n, ARGV[3] n keys of KEY_BYTES each,
# ARGV[4] n click ids of CLICK_ID_LENGTH each. Returns a string of n '1'/'0'.
# The keys travel packed in one argument rather than as KEYS, so a batch of thousands costs
# one small command to build; that is fine on one Redis, while Redis Cluster would need the
# keys declared (one call per slot).
_UNIQUE_SCRIPT = """
local ttl, n, keys, ids = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local kw, iw = %(key)d, %(id)d
local out = {}
for i = 0, n - 1 do
  local key = string.sub(keys, i * kw + 1, (i + 1) * kw)
  local id = string.sub(ids, i * iw + 1, (i + 1) * iw)
  if redis.call('SET', key, id, 'NX', 'PX', ttl) then
    out[i + 1] = '1'
  elseif redis.call('GET', key) == id then
    out[i + 1] = '1'
  else
    out[i + 1] = '0'
  end
end
return table.concat(out)
"""
_UNIQUE_PREFIX = b"vouch:u:"
KEY_BYTES = len(_UNIQUE_PREFIX) + 12
_UNIQUE_SCRIPT = _UNIQUE_SCRIPT % {"key": KEY_BYTES, "id": CLICK_ID_LENGTH}
_UNIQUE_CHUNK = 20_000


def unique_key(link_hex: str, visitor_hex: str, ms: int) -> bytes:
    """The Redis key one unique click per link, visitor and hour claims."""
    hour = ms // UNIQUE_WINDOW_MS
    digest = hashlib.blake2b(f"{link_hex}{visitor_hex}{hour}".encode(), digest_size=12)
    return _UNIQUE_PREFIX + digest.digest()


async def unique_flags(redis: Any, keys: list[bytes], click_ids: list[str]) -> list[bool]:
    """For each (key, click id): is this click the first of its link, visitor and hour?

    Atomic in Redis (SET NX), so correct across batches and concurrent workers. The key
    remembers which click claimed it, so the same click processed again (a batch redelivered
    after a crash) is still the unique one, and its row is identical either way.
    """
    flags: list[bool] = []
    script = redis.register_script(_UNIQUE_SCRIPT)
    for start in range(0, len(keys), _UNIQUE_CHUNK):
        chunk = keys[start : start + _UNIQUE_CHUNK]
        result = await script(
            keys=[],
            args=[
                _UNIQUE_TTL_MS,
                len(chunk),
                b"".join(chunk),
                "".join(click_ids[start : start + _UNIQUE_CHUNK]),
            ],
        )
        flags.extend(c == 49 for c in result)  # b"1"
    return flags


async def enrich(
    clicks: Sequence[StreamClick], classifier: UserAgentClassifier, redis: Any | None
) -> list[EnrichedClick]:
    """Rows for `clicks`: bot flag and device from the user agent, unique flag from Redis
    (None without Redis: the SQL insert computes it)."""
    classify = classifier.classify
    verdicts = [classify(c[7][:MAX_UA]) for c in clicks]
    flags: list[bool | None]
    if redis is not None:
        humans = [i for i, v in enumerate(verdicts) if not v[0]]
        keys = [unique_key(clicks[i][2], clicks[i][4], clicks[i][3]) for i in humans]
        found = await unique_flags(redis, keys, [clicks[i][0] for i in humans])
        flags = [False] * len(clicks)
        for i, first in zip(humans, found, strict=True):
            flags[i] = first
    else:
        flags = [None] * len(clicks)

    times: dict[int, datetime] = {}  # clicks arrive in bursts: many share a millisecond
    rows: list[EnrichedClick] = []
    for click, (bot, device), flag in zip(clicks, verdicts, flags, strict=True):
        click_id, brand, link, ms, visitor, country, ref, _ua = click
        at = times.get(ms)
        if at is None:
            at = times[ms] = _EPOCH + timedelta(milliseconds=ms)
        try:
            visitor_hash = bytes.fromhex(visitor)
        except ValueError:
            log.warning("visitor_hash_malformed", click_id=click_id)
            continue
        rows.append(
            EnrichedClick(
                at,
                brand,
                link,
                click_id,
                visitor_hash,
                country if country and len(country) == 2 else None,
                device,
                ref[:MAX_REFERRER_DOMAIN] if ref else None,
                bot,
                flag,
            )
        )
    return rows


# ------------------------------------------------------------------ storage
_BATCH_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS vouch_click_batch (
    clicked_at timestamptz NOT NULL,
    brand_id uuid NOT NULL,
    link_id uuid NOT NULL,
    click_id text NOT NULL,
    visitor_hash bytea NOT NULL,
    country varchar(2),
    device text NOT NULL,
    referrer_domain text,
    is_bot boolean NOT NULL,
    is_unique boolean
) ON COMMIT DELETE ROWS
"""
_INSERT = """
INSERT INTO clicks (clicked_at, brand_id, link_id, click_id, visitor_hash, country, device,
                    referrer_domain, is_bot, is_unique)
SELECT clicked_at, brand_id, link_id, click_id, visitor_hash, country, device,
       referrer_domain, is_bot, is_unique
FROM vouch_click_batch
ON CONFLICT (click_id, clicked_at) DO NOTHING
"""
# Without Redis (the API's fallback path) the unique flag is decided here: the first human
# click of the link, visitor and hour in this batch, unless one is already stored. Two API
# processes falling back at once may both count one; that is the price of the degraded mode.
_INSERT_COMPUTING_UNIQUE = """
INSERT INTO clicks (clicked_at, brand_id, link_id, click_id, visitor_hash, country, device,
                    referrer_domain, is_bot, is_unique)
SELECT b.clicked_at, b.brand_id, b.link_id, b.click_id, b.visitor_hash, b.country, b.device,
       b.referrer_domain, b.is_bot,
       NOT b.is_bot
       AND row_number() OVER (
           PARTITION BY b.link_id, b.visitor_hash, date_trunc('hour', b.clicked_at), b.is_bot
           ORDER BY b.clicked_at, b.click_id) = 1
       AND NOT EXISTS (
           SELECT 1 FROM clicks c
           WHERE c.link_id = b.link_id AND c.visitor_hash = b.visitor_hash AND c.is_unique
             AND c.clicked_at >= date_trunc('hour', b.clicked_at)
             AND c.clicked_at < date_trunc('hour', b.clicked_at) + interval '1 hour'
             AND c.click_id <> b.click_id)
FROM vouch_click_batch b
ON CONFLICT (click_id, clicked_at) DO NOTHING
"""


def month_start(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


class PartitionCache:
    """Months whose `clicks` partition this process knows exists (partitions are never
    dropped while the process runs, except by an operator archiving old months, for which
    `forget()` exists)."""

    def __init__(self) -> None:
        self.months: set[date] = set()

    def forget(self) -> None:
        self.months.clear()


async def ensure_partitions(conn: Any, months: Iterable[date], cache: PartitionCache) -> None:
    """Create the monthly partitions `months` need (asyncpg connection, outside a transaction:
    the partitions commit on their own). Normally the cron made them long ago and this is a
    set lookup."""
    missing = sorted(set(months) - cache.months)
    if not missing:
        return
    await conn.execute(
        "SELECT vouch_create_click_partitions($1::date, $2::int)",
        missing[0],
        _months_between(missing[0], missing[-1]),
    )
    cache.months.update(missing)


async def store_clicks(
    engine: AsyncEngine, rows: Sequence[EnrichedClick], partitions: PartitionCache
) -> int:
    """Write `rows` to `clicks`, skipping click ids already stored (a redelivered batch
    stores nothing twice). Returns the number of new rows. Commits before returning: the
    caller acknowledges after this.

    The common case is one COPY straight into `clicks`. If any click id is already stored
    (only after a crash between COMMIT and XACK) the unique constraint rejects the COPY and
    the batch goes the slower way: COPY into a temporary table, then INSERT ... SELECT ...
    ON CONFLICT DO NOTHING. The fallback path (no Redis, unique flags still to decide) always
    goes that way.
    """
    if not rows:
        return 0
    compute_unique = any(r.is_unique is None for r in rows)
    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        conn: Any = raw.driver_connection
        await ensure_partitions(conn, {month_start(r.clicked_at) for r in rows}, partitions)
        if not compute_unique:
            try:
                async with conn.transaction():
                    await conn.copy_records_to_table("clicks", records=rows, columns=COLUMNS)
                return len(rows)
            except asyncpg.UniqueViolationError:
                pass
        async with conn.transaction():
            await conn.execute(_BATCH_TABLE)
            await conn.copy_records_to_table("vouch_click_batch", records=rows, columns=COLUMNS)
            status = await conn.execute(_INSERT_COMPUTING_UNIQUE if compute_unique else _INSERT)
    return int(status.rsplit(" ", 1)[1])
