"""Schema migrations, applied with yoyo-migrations from the SQL files beside this module."""

from __future__ import annotations

from pathlib import Path

from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _yoyo_url(database_url: str) -> str:
    scheme, rest = database_url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else database_url


def apply_migrations(database_url: str) -> int:
    """Applies what is pending; returns how many migrations ran."""
    backend = get_backend(_yoyo_url(database_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


if __name__ == "__main__":
    import os

    applied = apply_migrations(os.environ["DATABASE_URL"])
    print(f"applied {applied} migration(s)")
