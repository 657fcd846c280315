"""The results store: every run's records in one database, SQLite by default, PostgreSQL for teams.

SQLAlchemy Core serves both with one schema (calib.store.tables). A store is opened before any work
(calib.store.open_store): a bad URL, an unreachable server or a store of a newer schema is a one-line
exit 2 before anything is measured. Writes are short transactions, one per run header and one per
record, so several processes writing one store lose nothing (SQLite in WAL mode with a busy timeout;
PostgreSQL's own concurrency), and a run's records enter as they finish.

The JSON results file stays the artifact: what the store holds of a run is its file's header and its
records verbatim (`body`), so `calib push FILE` rebuilds the same rows from the file, and the same file
pushed twice adds nothing (the run's stable identity, calib.store.identity.run_key, and (run, seq)
are unique)."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from calib.errors import UsageError

KINDS = ("run", "ab", "train", "predict", "calibrate", "fleet")  # the commands whose runs a store holds
# The runs whose records make a configuration's history: not `calib ab`'s, whose baseline and current
# sides share one configuration identity (two builds of one model), nor predictions.
SERIES_KINDS = ("run", "train", "fleet")


class StoreError(UsageError):
    """A store that cannot be opened or written: bad URL, unreachable server, newer schema (exit 2)."""


@dataclass
class PushOutcome:
    source: str
    run_key: str
    added: int  # records added
    new_run: bool
    total: int  # records in the file


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is shown as given
        return url


def _utc(value) -> _dt.datetime:
    """A stored or written time as an aware UTC datetime (SQLite gives back naive UTC)."""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            value = None
    if not isinstance(value, _dt.datetime):
        return _dt.datetime.now(_dt.timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc)


def _naive_utc(value) -> _dt.datetime:
    """What goes into a DateTime column: UTC without tzinfo, identical on SQLite and PostgreSQL."""
    return _utc(value).replace(tzinfo=None)


def run_kind(command: Iterable[str] | None) -> str:
    for word in list(command or [])[1:3]:
        if word in KINDS:
            return word
    return "run"


_LOCKED_ATTEMPTS = 8  # SQLite's "database is locked" on opening: tries, with growing random pauses


class Store:
    """An open store. `Store(url)` connects, creates the schema in an empty database, moves an older
    schema forward and refuses a newer one (StoreError)."""

    def __init__(self, url: str):
        self.url = url
        self.shown = safe_url(url)
        self.engine = _engine(url)
        self._prepare()

    # ---- opening -------------------------------------------------------------------------------
    def _prepare(self) -> None:
        """_open_schema, again after a short random pause when SQLite says "database is locked" (two
        processes creating one store at once each read the schema, then try to write it, and SQLite refuses
        the second upgrade from reader to writer at once: no busy wait can help a deadlock) or a table
        "already exists" (created by the other between our check and our CREATE)."""
        import random
        import time

        from sqlalchemy import exc

        for attempt in range(_LOCKED_ATTEMPTS):
            try:
                self._open_schema()
                return
            except StoreError as error:
                # "locked": the deadlock above; "already exists": the other process's CREATE committed between
                # our check and our CREATE (three quick tries inside were not enough); after a pause the check sees it
                transient = (isinstance(error.__context__, (exc.OperationalError, exc.ProgrammingError))
                             and ("locked" in str(error) or "already exists" in str(error)))
                if not transient or attempt == _LOCKED_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))

    def _open_schema(self) -> None:
        from sqlalchemy import exc, select

        from calib.store.tables import SCHEMA_VERSION, metadata, store_meta

        try:
            for attempt in range(3):
                try:
                    metadata.create_all(self.engine, checkfirst=True)
                    break
                except exc.IntegrityError:  # another process created the tables between check and create
                    if attempt == 2:
                        raise
                except (exc.ProgrammingError, exc.OperationalError) as error:  # the same race, as "already exists"
                    if "already exists" not in str(error) or attempt == 2:
                        raise
            with self.engine.begin() as conn:
                row = conn.execute(select(store_meta.c.value).where(store_meta.c.key == "schema_version")).first()
                if row is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(store_meta.insert(), [{"key": "schema_version", "value": str(SCHEMA_VERSION)},
                                                               {"key": "created_by", "value": _calib_version()}])
                    except exc.IntegrityError:  # written by a process that opened it at the same time
                        pass
                    version = SCHEMA_VERSION
                else:
                    version = int(row[0])
                if version > SCHEMA_VERSION:
                    raise StoreError(f"store {self.shown}: schema version {version} is newer than this calib "
                                     f"reads ({SCHEMA_VERSION}); upgrade calib (nothing was written)")
                if version < SCHEMA_VERSION:
                    _migrate(conn, version)
        except StoreError:
            raise
        except exc.SQLAlchemyError as error:
            raise StoreError(f"store {self.shown}: {_reason(error)}") from None

    # ---- writing -------------------------------------------------------------------------------
    def add_run(self, header: Mapping, source: str | None = None) -> tuple[int, bool]:
        """The run a results file (or a writer's header) describes: (its row id, whether it is new)."""
        from sqlalchemy import exc, select, update

        from calib.store.identity import device_class, device_fingerprint, run_key
        from calib.store.tables import runs

        key = run_key(header)
        environment = header.get("environment") if isinstance(header.get("environment"), Mapping) else {}
        git = header.get("git") if isinstance(header.get("git"), Mapping) else {}
        row = {
            "run_key": key,
            "kind": header.get("kind") if header.get("kind") in KINDS else run_kind(header.get("command")),
            "created": _naive_utc(header.get("created")),
            "calib_version": header.get("calib_version"),
            "schema_version": header.get("schema_version"),
            "command": list(header.get("command") or []),
            "environment": dict(environment),
            "device_report": header.get("device_report"),
            "host": environment.get("host"),
            "device_class": header.get("device_class") or device_class(environment, override=None),
            "device_fingerprint": device_fingerprint(environment),
            "git_commit": git.get("commit"),
            "git_branch": git.get("branch"),
            "complete": header.get("complete") if isinstance(header.get("complete"), bool) else None,
            "source": source,
            "pushed": _naive_utc(None),
        }
        with self._writing() as conn:
            found = conn.execute(select(runs.c.id).where(runs.c.run_key == key)).first()
            if found is not None:
                if row["complete"]:
                    conn.execute(update(runs).where(runs.c.id == found[0]).values(complete=True))
                return found[0], False
            try:
                with conn.begin_nested():
                    run_id = conn.execute(runs.insert().values(**row)).inserted_primary_key[0]
                return run_id, True
            except exc.IntegrityError:  # the same run pushed by another process this instant
                return conn.execute(select(runs.c.id).where(runs.c.run_key == key)).scalar_one(), False

    def add_records(self, run_id: int, numbered: Iterable[tuple[int, Mapping]]) -> int:
        """Records of a run, each with its place in the file; a place already stored is left as it is.
        Returns how many were added."""
        from sqlalchemy import select

        from calib.store.tables import records, runs

        numbered = list(numbered)
        if not numbered:
            return 0
        with self._writing() as conn:
            run = conn.execute(select(runs.c.created, runs.c.device_class, runs.c.git_commit, runs.c.git_branch)
                               .where(runs.c.id == run_id)).one()
            have = set(conn.execute(select(records.c.seq).where(records.c.run_id == run_id)).scalars())
            rows = [_record_row(run_id, seq, record, run) for seq, record in numbered if seq not in have]
            if rows:
                conn.execute(records.insert(), rows)
        return len(rows)

    def sync_records(self, run_id: int, numbered: Iterable[tuple[int, Mapping]]) -> int:
        """Make the stored records of a run what the file holds: missing ones added, changed ones rewritten.
        Returns how many rows changed."""
        from sqlalchemy import select, update

        from calib.store.tables import records, runs

        numbered = list(numbered)
        changed = 0
        with self._writing() as conn:
            run = conn.execute(select(runs.c.created, runs.c.device_class, runs.c.git_commit, runs.c.git_branch)
                               .where(runs.c.id == run_id)).one()
            stored = dict(conn.execute(select(records.c.seq, records.c.body).where(records.c.run_id == run_id)).all())
            fresh = []
            for seq, record in numbered:
                row = _record_row(run_id, seq, record, run)
                if seq not in stored:
                    fresh.append(row)
                elif stored[seq] != row["body"]:
                    values = {k: v for k, v in row.items() if k not in ("run_id", "seq")}
                    conn.execute(update(records).where(records.c.run_id == run_id, records.c.seq == seq)
                                 .values(**values))
                    changed += 1
            if fresh:
                conn.execute(records.insert(), fresh)
        return changed + len(fresh)

    def add_record(self, run_id: int, seq: int, record: Mapping) -> int:
        return self.add_records(run_id, [(seq, record)])

    def finish_run(self, run_id: int) -> None:
        from sqlalchemy import update

        from calib.store.tables import runs

        with self._writing() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(complete=True))

    def push(self, payload: Mapping, source: str | None = None) -> PushOutcome:
        """One loaded results file into the store (calib push): the run, then every record it lacks."""
        from calib.store.identity import run_key

        items = list(payload.get("records") or [])
        run_id, new = self.add_run(payload, source=source)
        added = self.add_records(run_id, enumerate(items))
        return PushOutcome(source=source or "?", run_key=run_key(payload), added=added, new_run=new, total=len(items))

    def _writing(self):
        """A write transaction; a database error is a StoreError with its reason on one line."""
        return _Guard(self)

    # ---- reading -------------------------------------------------------------------------------
    def select_records(self, *, model: str | None = None, precision: str | None = None,
                       device_class: str | None = None, backend: str | None = None, branch: str | None = None,
                       config_key: str | None = None, status: str | None = "ok", before=None,
                       limit: int | None = None, newest_first: bool = False, with_body: bool = False,
                       kinds: Iterable[str] | None = SERIES_KINDS) -> list[dict]:
        """Stored records, oldest first (or newest first), with the columns history and the gate read.
        `with_body` adds the whole record (raw samples): only where a test needs them. `kinds`: the runs
        whose records make a series (not `calib ab`'s: its two sides share one identity; None: all)."""
        from sqlalchemy import select

        from calib.store.tables import records, runs

        columns = [records.c.id, records.c.run_id, records.c.seq, records.c.config_key, records.c.model,
                   records.c.backend, records.c.precision, records.c.batch_size, records.c.input_shape,
                   records.c.device, records.c.variant, records.c.status, records.c.median_ms, records.c.ci_low_ms,
                   records.c.ci_high_ms, records.c.n_samples, records.c.created, records.c.device_class,
                   records.c.git_commit, records.c.git_branch, runs.c.run_key, runs.c.host, runs.c.kind]
        if with_body:
            columns.append(records.c.body)
        query = select(*columns).join(runs, runs.c.id == records.c.run_id)
        for column, value in ((records.c.model, model), (records.c.precision, precision),
                              (records.c.device_class, device_class), (records.c.backend, backend),
                              (records.c.git_branch, branch), (records.c.config_key, config_key),
                              (records.c.status, status)):
            if value is not None:
                query = query.where(column == value)
        if before is not None:
            query = query.where(records.c.created < _naive_utc(before))
        if kinds is not None:
            query = query.where(runs.c.kind.in_(list(kinds)))
        order = (records.c.created, records.c.run_id, records.c.seq)
        query = query.order_by(*(c.desc() for c in order) if newest_first else order)
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        for row in rows:
            row["created"] = _utc(row["created"])
        return rows

    def runs(self, *, device_class: str | None = None, kind: str | None = None) -> list[dict]:
        from sqlalchemy import select

        from calib.store.tables import runs

        query = select(runs.c.id, runs.c.run_key, runs.c.kind, runs.c.created, runs.c.device_class, runs.c.host,
                       runs.c.git_commit, runs.c.git_branch, runs.c.complete, runs.c.source)
        if device_class is not None:
            query = query.where(runs.c.device_class == device_class)
        if kind is not None:
            query = query.where(runs.c.kind == kind)
        with self._reading() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query.order_by(runs.c.created, runs.c.id))]
        for row in rows:
            row["created"] = _utc(row["created"])
        return rows

    def result_file(self, run_id: int):
        """A stored run as the typed ResultFile every reader takes (compare, report, check)."""
        from sqlalchemy import select

        from calib.results.record import ResultFile
        from calib.store.tables import records, runs

        with self._reading() as conn:
            run = conn.execute(select(runs).where(runs.c.id == run_id)).one()._mapping
            bodies = list(conn.execute(select(records.c.body).where(records.c.run_id == run_id)
                                       .order_by(records.c.seq)).scalars())
        payload = {"schema_version": run["schema_version"] or 1, "calib_version": run["calib_version"],
                   "created": _utc(run["created"]).isoformat(timespec="seconds"), "command": run["command"] or [],
                   "complete": run["complete"], "environment": run["environment"] or {},
                   "device_report": run["device_report"], "records": bodies}
        label = f"{run['device_class']}@{_utc(run['created']).strftime('%Y-%m-%d %H:%M')}"
        return ResultFile.from_json(payload, path=label)

    def latest_runs(self, *, model: str | None = None, kind: str | None = "run") -> list[dict]:
        """The newest run of each device class (that measured `model` when given): compare --store."""
        from sqlalchemy import func, select

        from calib.store.tables import records, runs

        query = select(runs.c.id, runs.c.device_class, runs.c.created)
        if kind is not None:
            query = query.where(runs.c.kind == kind)
        if model is not None:
            query = query.where(runs.c.id.in_(select(records.c.run_id).where(records.c.model == model)))
        else:
            query = query.where(runs.c.id.in_(select(records.c.run_id)))
        newest = query.subquery()
        ranked = select(newest.c.id, newest.c.device_class, newest.c.created,
                        func.row_number().over(partition_by=newest.c.device_class,
                                               order_by=(newest.c.created.desc(), newest.c.id.desc())).label("rank")
                        ).subquery()
        with self._reading() as conn:
            rows = [dict(row._mapping) for row in conn.execute(
                select(ranked.c.id, ranked.c.device_class, ranked.c.created).where(ranked.c.rank == 1)
                .order_by(ranked.c.device_class))]
        for row in rows:
            row["created"] = _utc(row["created"])
        return rows

    def _reading(self):
        return _Guard(self, write=False)

    def close(self) -> None:
        self.engine.dispose()


class _Guard:
    """A connection (a transaction when writing) whose database errors become one-line StoreErrors."""

    def __init__(self, store: Store, write: bool = True):
        self.store, self.write = store, write

    def __enter__(self):
        from sqlalchemy import exc

        try:
            self._context = self.store.engine.begin() if self.write else self.store.engine.connect()
            return self._context.__enter__()
        except exc.SQLAlchemyError as error:
            raise StoreError(f"store {self.store.shown}: {_reason(error)}") from None

    def __exit__(self, kind, error, trace):
        from sqlalchemy import exc

        try:
            self._context.__exit__(kind, error, trace)
        except exc.SQLAlchemyError as failure:
            raise StoreError(f"store {self.store.shown}: {_reason(failure)}") from None
        if isinstance(error, exc.SQLAlchemyError):
            raise StoreError(f"store {self.store.shown}: {_reason(error)}") from None
        return False


def _record_row(run_id: int, seq: int, record: Mapping, run) -> dict:
    from calib.results.record import Record
    from calib.results.store import jsonable
    from calib.store.identity import record_config_key

    body = json.loads(json.dumps(dict(record), default=jsonable))  # what the file holds, JSON-clean
    identity = body.get("identity") if isinstance(body.get("identity"), Mapping) else {}
    median = low = high = None
    count = 0
    try:
        summary = Record.from_json(body).summary
    except Exception:  # noqa: BLE001 - a record the typed reader cannot read is still kept verbatim
        summary = None
    if summary is not None:
        median, low, high, count = summary.median_ms, summary.ci95_low_ms, summary.ci95_high_ms, summary.count
    shape = identity.get("input_shape")
    return {
        "run_id": run_id, "seq": seq, "config_key": record_config_key(body),
        "model": _text(identity.get("model")), "backend": _text(identity.get("backend")),
        "precision": _text(identity.get("precision")),
        "batch_size": identity.get("batch_size") if isinstance(identity.get("batch_size"), int) else None,
        "input_shape": "x".join(str(d) for d in shape) if isinstance(shape, (list, tuple)) else _text(shape),
        "device": _text(identity.get("device")), "variant": _text(identity.get("variant")),
        "status": _text(body.get("status")), "median_ms": median, "ci_low_ms": low, "ci_high_ms": high,
        "n_samples": count, "created": run.created, "device_class": run.device_class,
        "git_commit": run.git_commit, "git_branch": run.git_branch, "body": body,
    }


def _text(value) -> str | None:
    return None if value is None else str(value)


def _engine(url: str):
    from sqlalchemy import create_engine, event, exc
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except (exc.ArgumentError, ValueError):
        raise StoreError(f"--store {url}: not a database URL (sqlite:///path.db or postgresql://user@host/db)") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"--store {safe_url(url)}: calib stores into sqlite:// or postgresql://, not {backend}://")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not the psycopg2 default
    options: dict[str, Any] = {}
    if backend == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            raise StoreError(f"--store {url}: an in-memory SQLite store keeps nothing; give a file "
                             "(sqlite:///results/calib.db)")
        from pathlib import Path

        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"--store {url}: cannot create {folder} ({error.strerror})") from None
        options["connect_args"] = {"timeout": 60}
    else:
        options["connect_args"] = {"connect_timeout": 5}
        options["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **options)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
        raise StoreError(f"--store {safe_url(url)}: {_reason(error)}"
                         + ("; install the driver: pip install 'psycopg[binary]'" if backend == "postgresql" else "")
                         ) from None
    if backend == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record):  # several processes write one file: WAL and a long busy wait
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    return engine


def _reason(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    text = " ".join(str(original).split())
    return (text[:240] + "...") if len(text) > 240 else (text or type(original).__name__)


def _calib_version() -> str:
    from calib import __version__

    return __version__


# from-version -> a function that moves a store of that version to the next, inside one transaction
MIGRATIONS: dict[int, Any] = {}


def _migrate(conn, version: int) -> None:
    from sqlalchemy import update

    from calib.store.tables import SCHEMA_VERSION, store_meta

    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise StoreError(f"store at schema version {version}: no migration to {version + 1} in this calib")
        step(conn)
        version += 1
    conn.execute(update(store_meta).where(store_meta.c.key == "schema_version").values(value=str(version)))
