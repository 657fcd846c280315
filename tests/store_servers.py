"""Throwaway database servers for the results store's tests: a real PostgreSQL, started once.

`start_postgres(base_dir)` runs initdb and pg_ctl from the installed PostgreSQL (PATH, else
/usr/lib/postgresql/*/bin) on a free port of 127.0.0.1 with trust authentication, durability off
(fsync, synchronous_commit, full_page_writes) and an empty database `calib_test`, in a second or
two. The server refuses to run as root, so as root the cluster belongs to an unprivileged user
(`postgres` where it exists, else one this module creates, else `nobody`) and every server command
runs as that user. `PostgresServer.new_database()` gives each test a database of its own; `stop()`
(also registered with atexit) shuts the server down at once.

Without the binaries, `start_postgres` raises `PostgresNotInstalled` (a RuntimeError whose message
starts "PostgreSQL is not installed: ") and `postgres_missing_reason()` gives the same sentence for
a pytest skip, ahead of any start.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

USER = "calib"  # the cluster's superuser (initdb -U): every URL connects as it, no password (trust)
DATABASE = "calib_test"
HOST = "127.0.0.1"
SERVICE_USER = "calibpg"  # created (no home, no login) when running as root and `postgres` is absent
_SETTINGS = ("-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
             "-c full_page_writes=off -c max_connections=200")
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresNotInstalled(RuntimeError):
    """initdb or pg_ctl is not on this machine; the message says where it was looked for."""


def find_postgres_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: initdb's on PATH, else the newest of
    /usr/lib/postgresql/*/bin (Debian and Ubuntu keep the server binaries off PATH)."""
    on_path = shutil.which("initdb")
    candidates = [Path(os.path.realpath(on_path)).parent] if on_path else []  # /usr/local/bin/initdb -> ...
    version = lambda path: [int(part) if part.isdigit() else 0 for part in path.split("/")[-2].split(".")]
    candidates += [Path(path) for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def postgres_missing_reason() -> str | None:
    """Why a PostgreSQL server cannot be started here (for pytest.skip), or None when it can be."""
    if find_postgres_bin() is None:
        return ("PostgreSQL is not installed: no initdb, pg_ctl and postgres on PATH or under "
                "/usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return None


@dataclass
class PostgresServer:
    bin_dir: Path
    data_dir: Path
    socket_dir: Path
    log_path: Path
    port: int
    run_as: str | None  # the unprivileged user every server command runs as; None when not root
    owned_dirs: list[Path] = field(default_factory=list)  # removed by stop(): made outside base_dir
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))
    _stopped: bool = False

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the database `calib_test`."""
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@{HOST}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        """A psycopg connection in autocommit mode (CREATE/DROP DATABASE refuse a transaction)."""
        import psycopg

        return psycopg.connect(host=HOST, port=self.port, user=USER, dbname=database, autocommit=True,
                               connect_timeout=10)

    def new_database(self, name: str | None = None) -> str:
        """Create an empty database (named after a counter unless `name` is given); its URL."""
        from psycopg import sql

        name = name or f"calib_t{next(self._names)}"
        if not _NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: lower-case letters, digits and _ only")
        with self.connect() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending its open connections (a test's leftover pool) first."""
        from psycopg import sql

        with self.connect() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        """Shut the server down at once (-m immediate: nothing here needs to survive). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            _run(self.run_as, [self.bin_dir / "pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "-t", "20",
                               "stop"], timeout=40, check=False)
        except (OSError, subprocess.SubprocessError):
            pass
        _kill_leftover(self.data_dir)
        for folder in self.owned_dirs:
            shutil.rmtree(folder, ignore_errors=True)


def start_postgres(base_dir: str | os.PathLike) -> PostgresServer:
    """Initialise a cluster under base_dir, start it on a free port and create `calib_test`.

    Raises PostgresNotInstalled without the binaries, RuntimeError (with the server's log) when
    the server does not come up."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        raise PostgresNotInstalled(postgres_missing_reason())
    run_as = _service_user() if os.geteuid() == 0 else None
    base = Path(base_dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    owned: list[Path] = []
    if run_as is not None and not _reachable(run_as, base):
        # e.g. pytest's /tmp/pytest-of-root is 0700: the cluster goes to a folder of its own in /tmp
        base = Path(tempfile.mkdtemp(prefix="calib-pg-", dir="/tmp"))
        os.chmod(base, 0o755)
        owned.append(base)
    root = Path(tempfile.mkdtemp(prefix="pg-", dir=base))
    data_dir, socket_dir, log_path = root / "data", root / "sock", root / "server.log"
    if len(str(socket_dir)) > 80:  # a Unix socket path holds at most 107 bytes (.s.PGSQL.PORT included)
        socket_dir = Path(tempfile.mkdtemp(prefix="calib-pgs-", dir="/tmp"))
        owned.append(socket_dir)
    for folder in (data_dir, socket_dir):
        folder.mkdir(mode=0o700, exist_ok=True)
    if run_as is not None:
        os.chmod(root, 0o755)
        account = pwd.getpwnam(run_as)
        for path in (root, data_dir, socket_dir):
            os.chown(path, account.pw_uid, account.pw_gid)

    initdb = _run(run_as, [bin_dir / "initdb", "-A", "trust", "-U", USER, "-D", data_dir, "-E", "UTF8",
                           "--locale=C", "--no-sync", "--no-instructions"], timeout=120, check=False)
    if initdb.returncode != 0:
        _cleanup(owned)
        raise RuntimeError(f"initdb failed (exit {initdb.returncode}) in {data_dir}:\n{initdb.stdout}")

    server = None
    for attempt in range(3):  # another process may take the free port between the probe and the bind
        port = _free_port()
        server = PostgresServer(bin_dir, data_dir, socket_dir, log_path, port, run_as, owned)
        atexit.register(server.stop)
        started = _run(run_as, [bin_dir / "pg_ctl", "-D", data_dir, "-l", log_path, "-w", "-t", "60", "-o",
                                f"-p {port} -k {socket_dir} {_SETTINGS}", "start"], timeout=90, check=False)
        if started.returncode == 0:
            break
        server.owned_dirs = []  # keep the folders for the next attempt
        server.stop()
        log = _tail(log_path)
        if "could not bind" not in log and "already in use" not in log or attempt == 2:
            _cleanup(owned)
            raise RuntimeError(f"PostgreSQL did not start (pg_ctl exit {started.returncode}):\n"
                               f"{started.stdout}\n--- {log_path}:\n{log}")
    try:
        server.new_database(DATABASE)
    except Exception:
        server.stop()
        raise
    return server


def _service_user() -> str:
    """An unprivileged account for the server when this process is root."""
    for name in ("postgres", SERVICE_USER):
        if _exists(name):
            return name
    if shutil.which("useradd"):
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
        if _exists(SERVICE_USER):
            return SERVICE_USER
    return "nobody"


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _reachable(user: str, folder: Path) -> bool:
    """Whether `user` can reach into `folder` (root makes and chowns the cluster's folder inside)."""
    return _run(user, ["test", "-x", folder], timeout=30, check=False).returncode == 0


def _run(user: str | None, command: list, timeout: float, check: bool) -> subprocess.CompletedProcess:
    """Run a command (as `user` when given; this process is root then), output captured as text."""
    command = [str(part) for part in command]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}  # no PGDATA, PGPORT...
    env.update(LC_ALL="C", LANG="C")
    options = dict(stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                   env=env, cwd="/", timeout=timeout, check=check)
    if user is None:
        return subprocess.run(command, **options)
    if shutil.which("runuser"):
        return subprocess.run(["runuser", "-u", user, "--", *command], **options)
    account = pwd.getpwnam(user)  # no util-linux: drop privileges in the child directly
    return subprocess.run(command, user=account.pw_uid, group=account.pw_gid, extra_groups=[], **options)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _kill_leftover(data_dir: Path) -> None:
    """When pg_ctl could not stop it, end the postmaster named in postmaster.pid (SIGQUIT: immediate)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"postgres" not in command:  # a stale file: that pid is someone else's now
        return
    try:
        os.kill(pid, signal.SIGQUIT)
    except OSError:
        return
    for _ in range(50):
        time.sleep(0.1)
        try:
            os.kill(pid, 0)
        except OSError:
            return


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _cleanup(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
