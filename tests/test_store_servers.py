"""The throwaway PostgreSQL server of tests/store_servers.py answers, and its databases are separate."""

import sqlalchemy as sa


def test_postgres_server_answers_and_new_databases_are_independent(postgres_server):
    engine = sa.create_engine(postgres_server.url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1
    engine.dispose()

    first, second = postgres_server.new_database(), postgres_server.new_database()
    assert first != second
    engines = [sa.create_engine(url) for url in (first, second)]
    try:
        with engines[0].begin() as connection:
            connection.execute(sa.text("CREATE TABLE runs (id integer)"))
            connection.execute(sa.text("INSERT INTO runs VALUES (1)"))
        with engines[1].connect() as connection:
            assert not sa.inspect(connection).has_table("runs")
        with engines[0].connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 1
    finally:
        for engine in engines:
            engine.dispose()


def test_store_url_is_an_empty_database(store_url):
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as connection:
            assert sa.inspect(connection).get_table_names() == []
            connection.execute(sa.text("CREATE TABLE runs (id integer)"))
    finally:
        engine.dispose()
