import pytest

# Timing options that keep a CLI run of a tiny model well under a second. --no-tune: the rule's first
# candidate, so a test's implementation does not depend on a race (tests/test_tuning.py races them).
FAST = ["--max-time", "0.3", "--min-time", "0.05", "--min-samples", "5", "--warmup-min-time", "0.01",
        "--warmup-min-count", "1", "-q", "--no-tune"]


@pytest.fixture
def fast_options():
    return list(FAST)


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner(env={"COLUMNS": "200"})  # golden output is rendered at a fixed width


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    """One ONNX cache for the session (exports are reused across tests), never ~/.cache."""
    folder = tmp_path_factory.mktemp("calib-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALIB_CACHE_DIR", str(folder))
        yield folder


# The results store's tests run once against SQLite and once against a real PostgreSQL server
# (tests/store_servers.py: started once per session, a fresh database per test). Without the
# PostgreSQL binaries the postgresql cases skip with the reason, unless CALIB_REQUIRE_POSTGRES is
# set (CI sets it where PostgreSQL is installed): then they fail, so CI cannot skip them silently.


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A throwaway PostgreSQL server (store_servers.PostgresServer) for the whole session."""
    import os

    from store_servers import postgres_missing_reason, start_postgres

    missing = postgres_missing_reason()
    if missing and os.environ.get("CALIB_REQUIRE_POSTGRES", "") not in ("", "0"):
        pytest.fail(f"CALIB_REQUIRE_POSTGRES is set, but {missing}", pytrace=False)
    if missing:
        pytest.skip(missing)
    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


def _fresh_postgres_database(server):
    """A new, empty database on the session server; dropped afterwards (open connections ended)."""
    url = server.new_database()
    yield url
    try:
        server.drop_database(url.rsplit("/", 1)[1])
    except Exception:  # the server is thrown away at the end of the session anyway
        pass


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """SQLAlchemy URL of an empty results store: a SQLite file in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/calib.db"
    else:
        yield from _fresh_postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def pg_url(postgres_server):
    """SQLAlchemy URL of a fresh, empty PostgreSQL database (postgresql+psycopg://...)."""
    yield from _fresh_postgres_database(postgres_server)
