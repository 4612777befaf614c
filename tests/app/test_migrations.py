"""The schema exists only through Alembic: upgrade head on an empty PostgreSQL database, then
downgrade base back to nothing, and upgrade again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import create_engine, inspect, text

from app.migrate import downgrade, upgrade
from app.models import Base
from gir_core.convention import LEGACY, MetricConvention
from tests.support.services import create_database, drop_database


@contextmanager
def _empty_postgresql(prefix: str, worker_id: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for this test process (its URL), dropped afterwards."""
    name = f"{prefix}_{worker_id}_{os.getpid()}"
    try:
        yield create_database(name, migrate=False)
    finally:
        drop_database(name)


def test_upgrade_downgrade_round_trip_on_postgresql(worker_id: str) -> None:
    with _empty_postgresql("gir_migrations", worker_id) as url:
        _round_trip(url)


def _round_trip(url: str) -> None:
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


def test_upgrade_on_sqlite(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/gir.db"
    upgrade(url)
    engine = create_engine(url)
    assert "submissions" in inspect(engine).get_table_names()
    downgrade(url)
    engine.dispose()


def _versions_before_conventions(url: str) -> None:
    """A database as it stood before #10: two frozen versions, one with a GT max side."""
    upgrade(url, "c3e8f1a90b27")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for name, max_side in (("v1", None), ("v2", 256)):
                connection.execute(
                    text(
                        "INSERT INTO benchmark_versions (name, seed, is_active, max_side, "
                        "metric_settings, created_at) VALUES (:name, 5, false, :side, '{}', "
                        ":at)"
                    ),
                    {"name": name, "side": max_side, "at": datetime(2026, 11, 1, tzinfo=UTC)},
                )
    finally:
        engine.dispose()


def _check_versions_keep_crop_zero(url: str) -> None:
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT name, metric_convention, real_world_max_side, foreign_lines "
                    "FROM benchmark_versions ORDER BY name"
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("v1", "rgb,crop=0,8bit", None, None),
            ("v2", "rgb,crop=0,8bit", 256, None),
        ]
        assert MetricConvention.parse(rows[0][1]) == LEGACY  # the scores keep their meaning
        assert "line_records" in inspect(engine).get_table_names()
        columns = {c["name"] for c in inspect(engine).get_columns("version_tasks")}
        assert {"acceptance_record_id", "excellence_record_id"} <= columns
    finally:
        engine.dispose()
    downgrade(url, "c3e8f1a90b27")
    engine = create_engine(url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("benchmark_versions")}
        assert "metric_convention" not in columns
        assert "line_records" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_existing_versions_keep_crop_zero_on_postgresql(worker_id: str) -> None:
    with _empty_postgresql("gir_migrate10", worker_id) as url:
        _versions_before_conventions(url)
        _check_versions_keep_crop_zero(url)


def test_existing_versions_keep_crop_zero_on_sqlite(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    _versions_before_conventions(url)
    _check_versions_keep_crop_zero(url)
