"""Fixtures shared by the records tests: every records test runs on SQLite and on the real PostgreSQL server
the test session starts (tests/conftest.py `postgres_url`)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from kongchuo_metrics import records
from kongchuo_metrics.records import db


def _reset_postgres(url: str) -> None:
    engine = create_engine(db._normalise(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    records.dispose_all()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'var' / 'records.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
    yield url
    records.dispose_all()
