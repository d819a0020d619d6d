"""Schema migrations, applied with yoyo-migrations from the SQL files beside this module.

    python -m persistence.migrations            apply what is pending (the migration Job, as the schema owner)
    python -m persistence.migrations --wait S   wait up to S seconds until nothing is pending (each app pod's
                                                init container, as the app's role): a new version serves only
                                                on the schema it was built for, whichever was applied first
"""

from __future__ import annotations

import argparse
import os
import sys
import time
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


def pending_migrations(database_url: str) -> list[str]:
    """The ids of this image's migrations the database has not applied."""
    backend = get_backend(_yoyo_url(database_url))
    return [migration.id for migration in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]


def wait_until_applied(database_url: str, *, timeout_seconds: float, interval_seconds: float = 2) -> str | None:
    """Waits until nothing is pending; None when ready, else what was still missing when the time was up."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            pending = pending_migrations(database_url)
            missing = f"pending: {', '.join(pending)}" if pending else None
        except Exception as exc:  # no schema yet, or PostgreSQL not answering: not there yet, say why
            missing = f"cannot read the applied migrations: {exc}"
        if missing is None or time.monotonic() >= deadline:
            return missing
        time.sleep(interval_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(prog="persistence.migrations")
    parser.add_argument("--wait", type=float, metavar="SECONDS",
                        help="apply nothing; wait until every migration of this image is applied")
    args = parser.parse_args()
    database_url = os.environ["DATABASE_URL"]
    if args.wait is None:
        print(f"applied {apply_migrations(database_url)} migration(s)")
        return
    missing = wait_until_applied(database_url, timeout_seconds=args.wait)
    if missing is not None:
        print(f"after {args.wait:.0f} s, {missing}", file=sys.stderr)
        sys.exit(1)
    print("every migration of this image is applied")


if __name__ == "__main__":
    main()
