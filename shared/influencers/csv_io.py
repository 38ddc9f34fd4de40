"""Roster CSV: bulk import (upsert with a row-level report) and export, one row per account.

Columns: see COLUMN_HELP below (also in the OpenAPI description of the import).

Matching, per row: `influencer_id` of this brand, else `email`, else the influencer that
already owns (platform, handle); otherwise a new influencer is created. The account is
upserted by (platform, handle). A row whose handle belongs to a different influencer than
the one it matched is rejected (accounts never move silently). Rows with empty platform and
handle create or update the influencer only.

An empty cell (or a missing column) never changes a stored value, so a sheet can update a
few columns, and an influencer's second row need not repeat its details. Distributions, lists
and the rate card are replaced as a whole when their cell is not empty.

Speed: rows are validated in Python, then each batch is applied with a fixed number of
statements (two lookups, bulk insert/update of influencers and accounts, snapshots, the
max-followers refresh). If a batch hits a unique violation (a concurrent writer), it is
retried row by row, each in its own SAVEPOINT, so only the conflicting rows are rejected.
"""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import Table, Text, bindparam, func, or_, select, update
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.base import uuid7
from shared.db.integrity import constraint_name
from shared.db.pagination import paginate
from shared.errors import InvalidInput
from shared.influencers import rules
from shared.influencers.repository import InfluencerFilters, InfluencerRepository, record_snapshots
from shared.influencers.service import (
    EMAIL_CONSTRAINT,
    HANDLE_CONSTRAINT,
    taken_key,
)
from shared.models import Influencer, SocialAccount
from shared.models.enums import InfluencerStatus, Platform

COLUMNS: tuple[str, ...] = (
    "influencer_id",
    "name",
    "email",
    "country",
    "city",
    "languages",
    "niches",
    "status",
    "notes",
    "rate_currency",
    "rate_card",
    "platform",
    "handle",
    "profile_url",
    "followers",
    "posts_per_week",
    "sponsored_share_pct",
    "audience_age",
    "audience_gender",
    "audience_countries",
    "audience_languages",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("name", "platform", "handle")
BATCH_SIZE = 500

COLUMN_HELP = """\
Columns (any order; `name`, `platform` and `handle` are required in the header):

- `influencer_id`: Vouch id from an export. A row naming an influencer of this brand updates
  it; rows sharing any other value are one new influencer.
- `name`: required to create an influencer.
- `email`: matches an existing influencer (case-insensitive).
- `country`: ISO 3166-1 alpha-2 (`DE`). `city`.
- `languages`: ISO 639-1 codes separated by `;` (`de;en`).
- `niches`: tags separated by `;` (`running;nutrition`).
- `status`: `active` or `archived`. `notes`.
- `rate_currency`: ISO 4217 (`EUR`), required with a rate card.
- `rate_card`: `type:amount` pairs in minor units (`reel:45000;story:15000`).
- `platform`: instagram, tiktok, youtube, x, facebook, twitch, snapchat or blog.
- `handle`: a leading `@` is dropped, case-insensitive (`@Jane.Runs` is `jane.runs`).
- `profile_url`: http(s) URL. `followers`: whole number >= 0.
- `posts_per_week`: number with up to 2 decimals.
- `sponsored_share_pct`: percent (0-100) of posts that are sponsored.
- `audience_age`: `bucket:percent` pairs over 13-17, 18-24, 25-34, 35-44, 45-54, 55+
  (`18-24:41;25-34:37`); `audience_gender`: female/male/other (`female:68;male:30`);
  `audience_countries`: alpha-2 codes (`DE:61;AT:14`); `audience_languages`: ISO 639-1
  codes (`de:82;en:18`). Each distribution sums to at most 100.

Matching, per row: `influencer_id` of this brand, else `email`, else the influencer that
already owns (platform, handle); otherwise a new influencer. Accounts are upserted by
(platform, handle); a handle owned by another influencer than the row's is rejected. Rows
with empty `platform` and `handle` create or update the influencer only. An empty cell never
changes a stored value.
"""

Status = Literal["created", "updated", "rejected"]

_INFLUENCER_TABLE: Table = Influencer.__table__  # type: ignore[assignment]
_ACCOUNT_TABLE: Table = SocialAccount.__table__  # type: ignore[assignment]
_ACCOUNT_DEFAULTS: dict[str, Any] = {
    "profile_url": None,
    "followers": 0,
    "posts_per_week": None,
    "sponsored_share_bps": None,
    "audience_age": {},
    "audience_gender": {},
    "audience_countries": {},
    "audience_languages": {},
}
_INFLUENCER_DEFAULTS: dict[str, Any] = {
    "email": None,
    "country": None,
    "city": None,
    "languages": [],
    "niches": [],
    "notes": None,
    "status": InfluencerStatus.ACTIVE.value,
    "rate_card": {},
    "rate_currency": None,
}


# ------------------------------------------------------------------- the report
@dataclass(slots=True)
class RowResult:
    row: int
    status: Status
    influencer_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: int = 0
    rows: list[RowResult] = field(default_factory=list)

    def add(self, results: Iterable[RowResult]) -> None:
        for r in results:
            self.rows.append(r)
            if r.status == "created":
                self.created += 1
            elif r.status == "updated":
                self.updated += 1
            else:
                self.rejected += 1


# -------------------------------------------------------------------- parsing
def _pairs(cell: str, value: Callable[[str], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in cell.split(";"):
        if not part.strip():
            continue
        key, sep, raw = part.rpartition(":")
        if not sep or not key.strip():
            raise ValueError(f"Expected key:value pairs separated by ';', got {part.strip()!r}.")
        out[key.strip()] = value(raw.strip())
    return out


def _number(raw: str) -> float:
    try:
        return float(Decimal(raw))
    except InvalidOperation as exc:
        raise ValueError(f"{raw!r} is not a number.") from exc


def _whole(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError(f"{raw!r} is not a whole number >= 0.")
    return int(raw)


def _decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError(f"{raw!r} is not a number.") from exc
    if not value.is_finite():
        raise ValueError(f"{raw!r} is not a number.")
    return value


def _tags(cell: str) -> list[str]:
    return [t for t in (p.strip() for p in cell.split(";")) if t]


_FORMULA_STARTS = frozenset("=+-@\t\r")
_STATUSES = frozenset(s.value for s in InfluencerStatus)
_PLATFORMS = frozenset(p.value for p in Platform)


def _status(raw: str) -> str:
    value = raw.strip().lower()
    if value not in _STATUSES:
        raise ValueError("Status is active or archived.")
    return value


def _platform(raw: str) -> str:
    value = raw.strip().lower()
    if value not in _PLATFORMS:
        raise ValueError(
            f"Unknown platform {raw!r}; one of {', '.join(p.value for p in Platform)}."
        )
    return value


def _share_pct(raw: str) -> int:
    pct = _decimal(raw)
    if not 0 <= pct <= 100:
        raise ValueError("A percent from 0 to 100.")
    return rules.check_bps(int((pct * 100).to_integral_value()))


def _city(raw: str) -> str:
    if len(raw) > 100:
        raise ValueError("A city is at most 100 characters.")
    return raw


def _notes(raw: str) -> str:
    if len(raw) > rules.MAX_NOTES:
        raise ValueError(f"Notes are at most {rules.MAX_NOTES} characters.")
    return raw


# column -> (model field, parser of a non-empty, stripped cell)
_INFLUENCER_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "name": ("name", rules.check_name),
    "email": ("email", rules.check_email),
    "country": ("country", rules.check_country),
    "city": ("city", _city),
    "languages": ("languages", lambda c: rules.check_languages(_tags(c))),
    "niches": ("niches", lambda c: rules.check_niches(_tags(c))),
    "status": ("status", _status),
    "notes": ("notes", _notes),
    "rate_currency": ("rate_currency", rules.check_currency),
    "rate_card": ("rate_card", lambda c: rules.check_rate_card(_pairs(c, _whole))),
}
_ACCOUNT_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "platform": ("platform", _platform),
    "handle": ("handle", rules.check_handle),
    "profile_url": ("profile_url", rules.check_url),
    "followers": ("followers", lambda c: rules.check_followers(_whole(c))),
    "posts_per_week": ("posts_per_week", lambda c: rules.check_posts_per_week(_decimal(c))),
    "sponsored_share_pct": ("sponsored_share_bps", _share_pct),
    "audience_age": ("audience_age", lambda c: rules.check_age(_pairs(c, _number))),
    "audience_gender": ("audience_gender", lambda c: rules.check_gender(_pairs(c, _number))),
    "audience_countries": (
        "audience_countries",
        lambda c: rules.check_audience_countries(_pairs(c, _number)),
    ),
    "audience_languages": (
        "audience_languages",
        lambda c: rules.check_audience_languages(_pairs(c, _number)),
    ),
}


@dataclass(slots=True)
class ParsedRow:
    line: int
    ref: str | None = None
    influencer: dict[str, Any] = field(default_factory=dict)  # non-empty cells only
    account: dict[str, Any] | None = None  # None: the row has no platform/handle
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def email_key(self) -> str | None:
        email = self.influencer.get("email")
        return email.lower() if isinstance(email, str) else None

    @property
    def account_key(self) -> tuple[str, str] | None:
        if self.account is None:
            return None
        return (self.account["platform"], self.account["handle"])


def check_header(fieldnames: Iterable[str] | None) -> list[str]:
    """Normalised column names; an unusable header is a 422 for the whole file."""
    if not fieldnames:
        raise InvalidInput(["body"], "The CSV is empty: expected a header row.")
    names = [(n or "").strip().lower() for n in fieldnames]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise InvalidInput(
            ["body", "header", unknown[0]],
            f"Unknown column(s) {', '.join(map(repr, unknown))}; columns are "
            + ", ".join(COLUMNS)
            + ".",
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInput(["body", "header", dupes[0]], f"Column {dupes[0]!r} appears twice.")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise InvalidInput(
            ["body", "header", missing[0]], f"Missing column(s): {', '.join(missing)}."
        )
    return names


def parse_row(line: int, header: list[str], cells: list[str]) -> ParsedRow:
    row = ParsedRow(line=line)
    if len(cells) > len(header):
        row.errors.append(
            {"field": "row", "msg": f"{len(cells)} cells but the header has {len(header)}."}
        )
        return row
    account: dict[str, Any] = {}
    for column, raw in zip(header, cells, strict=False):
        cell = raw.strip()
        if not cell:
            continue
        if cell[0] == "'" and cell[1:2] in _FORMULA_STARTS:
            cell = cell[1:]  # undo the export's spreadsheet-formula guard
        if column == "influencer_id":
            if len(cell) > 100:
                row.errors.append({"field": column, "msg": "At most 100 characters."})
            row.ref = cell
            continue
        parser = _INFLUENCER_PARSERS.get(column)
        target = row.influencer
        if parser is None:
            parser, target = _ACCOUNT_PARSERS[column], account
        name, parse = parser
        try:
            target[name] = parse(cell)
        except ValueError as exc:
            row.errors.append({"field": column, "msg": str(exc)})
    has_platform, has_handle = "platform" in account, "handle" in account
    if account and not (has_platform and has_handle):
        for column, present in (("platform", has_platform), ("handle", has_handle)):
            if not present and not any(e["field"] == column for e in row.errors):
                row.errors.append(
                    {"field": column, "msg": "Required when the row has account columns."}
                )
    row.account = account or None
    return row


def iter_rows(lines: Iterable[str]) -> tuple[list[str], Iterator[ParsedRow]]:
    """The checked header and a lazy iterator of parsed rows (blank lines skipped)."""
    reader = csv.reader(iter(lines))
    try:
        first = next(reader)
    except StopIteration:
        first = []
    except csv.Error as exc:
        raise InvalidInput(["body"], f"Not valid CSV: {exc}.") from exc
    header = check_header(first)

    def rows() -> Iterator[ParsedRow]:
        # Rows are numbered as a spreadsheet shows them: the header is row 1, and a cell
        # spanning several lines is still one row.
        number = 1
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield ParsedRow(
                    line=number, errors=[{"field": "row", "msg": f"Not valid CSV: {exc}."}]
                )
                continue
            if not any(c.strip() for c in cells):
                continue
            yield parse_row(number, header, cells)

    return header, rows()


# ------------------------------------------------------------------ importing
def _rejected(row: ParsedRow, field_: str, msg: str) -> RowResult:
    return RowResult(row=row.line, status="rejected", errors=[{"field": field_, "msg": msg}])


@dataclass(slots=True)
class _Plan:
    results: list[RowResult] = field(default_factory=list)
    new_influencers: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    influencer_changes: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    new_accounts: list[dict[str, Any]] = field(default_factory=list)
    account_changes: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    snapshots: list[tuple[uuid.UUID, int]] = field(default_factory=list)
    touched: set[uuid.UUID] = field(default_factory=set)  # need a max_followers refresh
    refs: dict[str, uuid.UUID] = field(default_factory=dict)


class Importer:
    """Applies parsed rows for one brand. One instance per file: it remembers which
    influencer each `influencer_id` value created, across batches and transactions."""

    def __init__(self, brand_id: uuid.UUID) -> None:
        self.brand_id = brand_id
        self.refs: dict[str, uuid.UUID] = {}
        self._last_id = 0

    def _new_id(self) -> uuid.UUID:
        """A uuid7 greater than the previous one: a batch shares one `created_at`, so the id
        alone keeps the file's order (uuid7's random bits do not, within a millisecond)."""
        value = uuid7().int
        if value <= self._last_id:
            value = self._last_id + 1  # bumps the random tail only; version bits stay
        self._last_id = value
        return uuid.UUID(int=value)

    async def apply(self, session: AsyncSession, rows: list[ParsedRow]) -> list[RowResult]:
        """Apply `rows` inside the caller's transaction; returns one result per row."""
        results = [
            RowResult(row=r.line, status="rejected", errors=r.errors) for r in rows if r.errors
        ]
        rounds: list[list[ParsedRow]] = []
        seen: dict[tuple[str, str], int] = {}
        for r in rows:
            if r.errors:
                continue
            # A statement may touch a row once: a handle repeated within the batch goes to
            # a later round, so the file's later row wins as it would row by row.
            key = r.account_key
            index = seen.get(key, -1) + 1 if key else 0
            if key:
                seen[key] = index
            if index == len(rounds):
                rounds.append([])
            rounds[index].append(r)
        for group in rounds:
            results += await self._round(session, group)
        results.sort(key=lambda x: x.row)
        return results

    async def _round(self, session: AsyncSession, rows: list[ParsedRow]) -> list[RowResult]:
        try:
            async with session.begin_nested():
                plan = await self._plan(session, rows)
                await self._write(session, plan)
        except IntegrityError:
            out: list[RowResult] = []
            for row in rows:  # slow path: find the conflicting rows one by one
                try:
                    async with session.begin_nested():
                        plan = await self._plan(session, [row])
                        await self._write(session, plan)
                except IntegrityError as exc:
                    out.append(self._conflict(row, exc))
                    continue
                self.refs.update(plan.refs)
                out += plan.results
            return out
        self.refs.update(plan.refs)
        return plan.results

    def _conflict(self, row: ParsedRow, exc: IntegrityError) -> RowResult:
        name = constraint_name(exc)
        if name == HANDLE_CONSTRAINT:
            key = taken_key(exc) or row.account_key or ("", "")
            return _rejected(
                row, "handle", f"@{key[1]} on {key[0]} was just taken by another writer."
            )
        if name == EMAIL_CONSTRAINT:
            return _rejected(row, "email", "Another influencer of this brand has this e-mail.")
        return _rejected(row, "row", f"Refused by the database ({name or 'integrity error'}).")

    async def _plan(self, session: AsyncSession, rows: list[ParsedRow]) -> _Plan:
        keys = [k for k in (r.account_key for r in rows) if k]
        accounts: dict[tuple[str, str], Any] = {}
        if keys:
            # Join against unnest(platforms, handles): one index probe per key on the unique
            # (brand_id, platform, handle) index. A row-value IN list plans far worse.
            wanted = (
                func.unnest(
                    bindparam("platforms", [k[0] for k in keys], type_=ARRAY(Text)),
                    bindparam("handles", [k[1] for k in keys], type_=ARRAY(Text)),
                )
                .table_valued(sql_column("platform", Text), sql_column("handle", Text))
                .render_derived(name="wanted")
            )
            acc = _ACCOUNT_TABLE.c
            stmt = (
                select(_ACCOUNT_TABLE)
                .join(wanted, (acc.platform == wanted.c.platform) & (acc.handle == wanted.c.handle))
                .where(acc.brand_id == self.brand_id)
            )
            for a in (await session.execute(stmt)).mappings():
                accounts[(a["platform"], a["handle"])] = a
        ids: set[uuid.UUID] = {a["influencer_id"] for a in accounts.values()}
        for r in rows:
            if r.ref and r.ref in self.refs:
                ids.add(self.refs[r.ref])
            elif r.ref:
                with contextlib.suppress(ValueError):  # not an id: a grouping label
                    ids.add(uuid.UUID(r.ref))
        emails = {e for e in (r.email_key for r in rows) if e}
        by_id: dict[uuid.UUID, dict[str, Any]] = {}
        by_email: dict[str, uuid.UUID] = {}
        if ids or emails:
            stmt = select(_INFLUENCER_TABLE).where(
                _INFLUENCER_TABLE.c.brand_id == self.brand_id,
                or_(
                    _INFLUENCER_TABLE.c.id.in_(ids),
                    func.lower(_INFLUENCER_TABLE.c.email).in_(emails),
                ),
            )
            for i in (await session.execute(stmt)).mappings():
                by_id[i["id"]] = dict(i)
                if i["email"]:
                    by_email[i["email"].lower()] = i["id"]

        plan = _Plan()
        # The influencers' state as the rows so far leave it (for change detection).
        state: dict[uuid.UUID, dict[str, Any]] = {}
        for row in rows:
            result = self._plan_row(row, plan, state, accounts, by_id, by_email)
            plan.results.append(result)
        # Several rows of one influencer may change a field and change it back: write only
        # what differs from the stored row in the end.
        for id_, changes in list(plan.influencer_changes.items()):
            final = {k: v for k, v in changes.items() if by_id[id_].get(k) != v}
            if final:
                plan.influencer_changes[id_] = final
            else:
                del plan.influencer_changes[id_]
        return plan

    def _plan_row(
        self,
        row: ParsedRow,
        plan: _Plan,
        state: dict[uuid.UUID, dict[str, Any]],
        accounts: Mapping[tuple[str, str], Any],
        by_id: Mapping[uuid.UUID, dict[str, Any]],
        by_email: dict[str, uuid.UUID],
    ) -> RowResult:
        # 1. Which influencer: this brand's id, else e-mail, else the handle's owner.
        target: uuid.UUID | None = None
        if row.ref:
            target = self.refs.get(row.ref) or plan.refs.get(row.ref)
            if target is None:
                try:
                    ref_id = uuid.UUID(row.ref)
                except ValueError:
                    ref_id = None
                if ref_id in by_id:
                    target = ref_id
        email = row.email_key
        owner_of_email = by_email.get(email) if email else None
        if target is None and owner_of_email:
            target = owner_of_email
        key = row.account_key
        existing = accounts.get(key) if key else None
        if target is None and existing is not None:
            # The handle's owner, unless the row's e-mail says it is someone else: a
            # missing e-mail is filled in, a different one is a contradiction.
            target = existing["influencer_id"]
            owner = state.get(target) or by_id.get(target) or {}
            if email and owner.get("email") and owner["email"].lower() != email:
                return _rejected(
                    row,
                    "handle",
                    f"@{existing['handle']} on {existing['platform']} belongs to influencer "
                    f"{target}, whose e-mail is not {row.influencer['email']}.",
                )
        if target is not None and target not in by_id and target not in plan.new_influencers:
            target = None  # deleted since an earlier batch created it: create it again
        # 2. Refusals, before anything is recorded.
        if existing is not None and target is not None and existing["influencer_id"] != target:
            return _rejected(
                row,
                "handle",
                f"@{key[1]} on {key[0]} belongs to another influencer "  # type: ignore[index]
                f"({existing['influencer_id']}); accounts are not moved by an import.",
            )
        if owner_of_email is not None and target is not None and owner_of_email != target:
            return _rejected(
                row, "email", f"Another influencer ({owner_of_email}) has this e-mail."
            )
        creating = target is None
        if creating and "name" not in row.influencer:
            return _rejected(row, "name", "Required to create an influencer.")
        if creating:
            current: dict[str, Any] = dict(_INFLUENCER_DEFAULTS)
        else:
            assert target is not None
            current = state.get(target) or by_id[target]
        provided = dict(row.influencer)
        if email and (current.get("email") or "").lower() == email:
            provided.pop("email")  # e-mails compare case-insensitively: keep the stored one
        merged = {**current, **provided}
        if merged.get("rate_card") and not merged.get("rate_currency"):
            return _rejected(row, "rate_currency", "A rate card needs a rate_currency.")

        # 3. Record.
        if creating:
            target = self._new_id()
            plan.new_influencers[target] = {
                "id": target,
                "brand_id": self.brand_id,
                **{k: merged[k] for k in ("name", *_INFLUENCER_DEFAULTS)},
            }
        elif target in plan.new_influencers:
            plan.new_influencers[target].update(provided)
        else:
            assert target is not None
            changes = {k: v for k, v in provided.items() if current.get(k) != v}
            if changes:
                plan.influencer_changes.setdefault(target, {}).update(changes)
        state[target] = merged
        if email:
            by_email[email] = target
        if row.ref:
            plan.refs[row.ref] = target

        if row.account is None:
            return RowResult(
                row=row.line, status="created" if creating else "updated", influencer_id=target
            )
        if existing is None:
            account_id = self._new_id()
            values = {**_ACCOUNT_DEFAULTS, **row.account}
            plan.new_accounts.append(
                {"id": account_id, "brand_id": self.brand_id, "influencer_id": target, **values}
            )
            plan.snapshots.append((account_id, values["followers"]))
            plan.touched.add(target)
            return RowResult(
                row=row.line, status="created", influencer_id=target, account_id=account_id
            )
        account_id = existing["id"]
        changes = {k: v for k, v in row.account.items() if existing[k] != v}
        if changes:
            plan.account_changes[account_id] = changes
        if "followers" in changes:
            plan.snapshots.append((account_id, changes["followers"]))
            plan.touched.add(target)
        return RowResult(
            row=row.line, status="updated", influencer_id=target, account_id=account_id
        )

    async def _write(self, session: AsyncSession, plan: _Plan) -> None:
        repo = InfluencerRepository(session, self.brand_id)
        existing = (plan.touched | set(plan.influencer_changes)) - set(plan.new_influencers)
        await repo.lock(existing)  # same lock order as the API: influencer, then accounts
        # RETURNING makes SQLAlchemy send multi-row INSERTs (insertmanyvalues) instead of one
        # statement per row: the statement-level triggers on these tables (account_features,
        # migration 0011) then fire once per batch, not once per row.
        if plan.new_influencers:
            await session.execute(
                insert(_INFLUENCER_TABLE).returning(_INFLUENCER_TABLE.c.id),
                list(plan.new_influencers.values()),
            )
        await _update_many(session, _INFLUENCER_TABLE, plan.influencer_changes)
        if plan.new_accounts:
            await session.execute(
                insert(_ACCOUNT_TABLE).returning(_ACCOUNT_TABLE.c.id), plan.new_accounts
            )
        await _update_many(session, _ACCOUNT_TABLE, plan.account_changes)
        await record_snapshots(session, self.brand_id, plan.snapshots)
        await repo.refresh_max_followers(plan.touched)


async def _update_many(
    session: AsyncSession, table: Any, changes: Mapping[uuid.UUID, dict[str, Any]]
) -> None:
    """One executemany per distinct set of changed columns (usually one or two), rows in id
    order: the lock order of every multi-row writer of these tables (the signals recompute
    locks accounts by id too)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for id_, values in sorted(changes.items()):
        cols = tuple(sorted(values))
        groups.setdefault(cols, []).append(
            {"_id": id_, **{f"_v_{k}": v for k, v in values.items()}}
        )
    for cols, params in groups.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(f"_v_{c}", type_=table.c[c].type) for c in cols})
            .values(updated_at=func.now())
        )
        await session.execute(stmt, params)


async def import_text(
    session: AsyncSession, brand_id: uuid.UUID, text: str, *, batch_size: int = BATCH_SIZE
) -> ImportReport:
    """The API path: one CSV document, applied in batches inside the caller's transaction."""
    _, rows = iter_rows(io.StringIO(text, newline=""))
    importer = Importer(brand_id)
    report = ImportReport()
    for batch in _batches(rows, batch_size):
        report.add(await importer.apply(session, batch))
    return report


async def import_lines(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    lines: Iterable[str],
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[list[RowResult]], None] | None = None,
) -> ImportReport:
    """The CLI (and benchmark) path: any size of file, one transaction per batch, so memory
    stays flat and a crash loses at most the batch in flight (re-running is idempotent)."""
    _, rows = iter_rows(lines)
    importer = Importer(brand_id)
    report = ImportReport()
    for batch in _batches(rows, batch_size):
        async with sessionmaker() as session, session.begin():
            results = await importer.apply(session, batch)
        report.add(results)
        if on_batch is not None:
            on_batch(results)
    return report


def _batches(rows: Iterator[ParsedRow], size: int) -> Iterator[list[ParsedRow]]:
    batch: list[ParsedRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ------------------------------------------------------------------- exporting
def _fmt_number(value: float | int | Decimal) -> str:
    if isinstance(value, int):
        return str(value)
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fmt_pairs(values: Mapping[str, Any]) -> str:
    return ";".join(f"{k}:{_fmt_number(v)}" for k, v in values.items())


def _influencer_cells(i: Influencer) -> dict[str, str]:
    return {
        "influencer_id": str(i.id),
        "name": i.name,
        "email": i.email or "",
        "country": i.country or "",
        "city": i.city or "",
        "languages": ";".join(i.languages),
        "niches": ";".join(i.niches),
        "status": i.status,
        "notes": i.notes or "",
        "rate_currency": i.rate_currency or "",
        "rate_card": _fmt_pairs(i.rate_card),
    }


def _account_cells(a: SocialAccount) -> dict[str, str]:
    share = a.sponsored_share_bps
    return {
        "platform": a.platform,
        "handle": a.handle,
        "profile_url": a.profile_url or "",
        "followers": str(a.followers),
        "posts_per_week": "" if a.posts_per_week is None else _fmt_number(a.posts_per_week),
        "sponsored_share_pct": "" if share is None else _fmt_number(Decimal(share) / 100),
        "audience_age": _fmt_pairs(a.audience_age),
        "audience_gender": _fmt_pairs(a.audience_gender),
        "audience_countries": _fmt_pairs(a.audience_countries),
        "audience_languages": _fmt_pairs(a.audience_languages),
    }


async def export_batches(
    session: AsyncSession,
    brand_id: uuid.UUID,
    filters: InfluencerFilters | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[list[dict[str, str]]]:
    """The roster as CSV records, oldest influencer first, one per account (an influencer
    without accounts gets one with empty account columns). Run it in a REPEATABLE READ
    transaction for a consistent snapshot of a busy roster."""
    repo = InfluencerRepository(session, brand_id)
    stmt = repo.filtered(filters or InfluencerFilters())
    cursor: str | None = None
    while True:
        page = await paginate(
            session,
            stmt,
            keys=[Influencer.created_at, Influencer.id],
            limit=batch_size,
            cursor=cursor,
        )
        influencers: list[Influencer] = list(page.items)
        accounts = await repo.accounts_of([i.id for i in influencers])
        records: list[dict[str, str]] = []
        for i in influencers:
            base = _influencer_cells(i)
            records += [{**base, **_account_cells(a)} for a in accounts[i.id]] or [base]
        session.expunge_all()  # keep memory flat on large rosters
        yield records
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _guard(cell: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet (CSV injection): prefix a
    # quote, which the import strips again, so the round trip stays exact.
    return "'" + cell if cell[:1] in _FORMULA_STARTS else cell


def csv_text(records: Iterable[Mapping[str, str]]) -> str:
    """Records as CSV lines in COLUMNS order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for record in records:
        writer.writerow([_guard(record.get(c, "")) for c in COLUMNS])
    return buf.getvalue()


def header_line() -> str:
    return csv_text([{c: c for c in COLUMNS}])


async def export_chunks(
    session: AsyncSession,
    brand_id: uuid.UUID,
    filters: InfluencerFilters | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[str]:
    """`export_batches` as CSV text chunks, header first."""
    yield header_line()
    async for records in export_batches(session, brand_id, filters, batch_size=batch_size):
        yield csv_text(records)
