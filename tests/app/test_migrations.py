"""The schema exists only through Alembic: upgrade head on an empty PostgreSQL database, then
downgrade base back to nothing, and upgrade again."""

from __future__ import annotations

import os

import psycopg
from sqlalchemy import create_engine, inspect

from app.migrate import downgrade, upgrade
from app.models import Base

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def test_upgrade_downgrade_round_trip_on_postgresql(worker_id: str) -> None:
    name = f"gir_migrations_{worker_id}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = create_engine(url)
    try:
        upgrade(url)
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        downgrade(url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(url)
        assert {t.name for t in Base.metadata.sorted_tables} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_upgrade_on_sqlite(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/gir.db"
    upgrade(url)
    engine = create_engine(url)
    assert "submissions" in inspect(engine).get_table_names()
    downgrade(url)
    engine.dispose()
