"""Database URLs as µTask users write them, as libpq writes them, as SQLAlchemy writes them."""

import pytest
from utask.core.storage import DatabaseURLError, conninfo_dict, redact, to_sqlalchemy_url


@pytest.mark.parametrize("url", [
    "postgres://user:pass@db:5433/utask?sslmode=disable",
    "postgresql://user:pass@db:5433/utask?sslmode=disable",
    "postgresql+psycopg2://user:pass@db:5433/utask?sslmode=disable",
    "host=db port=5433 user=user password=pass dbname=utask sslmode=disable",
])
def test_accepted_forms(url: str) -> None:
    assert conninfo_dict(url) == {"host": "db", "port": "5433", "user": "user", "password": "pass",
                                  "dbname": "utask", "sslmode": "disable"}
    sa = to_sqlalchemy_url(url)
    assert (sa.drivername, sa.host, sa.port, sa.database, dict(sa.query)) == (
        "postgresql+psycopg", "db", 5433, "utask", {"sslmode": "disable"})
    assert redact(url) == "postgresql://user:***@db:5433/utask?sslmode=disable"


@pytest.mark.parametrize(("url", "text"), [
    ("", "empty database URL"),
    ("mysql://x/y", "must start with postgres:// or postgresql://"),
    ("host=db port=abc", "invalid port"),
    ("postgres://db/x?nosuchoption=1", "invalid database URL"),
])
def test_refused_forms(url: str, text: str) -> None:
    with pytest.raises(DatabaseURLError, match=text):
        to_sqlalchemy_url(url)


def test_unix_socket_form_is_redacted_as_libpq_text() -> None:
    assert redact("host=/run/pg port=5432 user=postgres password=secret dbname=utask") == (
        "user=postgres dbname=utask host=/run/pg port=5432")
