"""Write statements built from one list of columns: each column is named once, beside its value in a row
(a mapping of column to value), and no placeholder is numbered by hand.

Statements are built once, at import, so asyncpg's statement cache sees the same text every time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MATCH = "match_"  # the row key of a WHERE column's value, beside the same column's new value


@dataclass(frozen=True)
class Statement:
    sql: str
    columns: tuple[str, ...]  # the row keys, in placeholder order

    def args(self, row: Mapping[str, Any]) -> list[Any]:
        """The row's values in placeholder order; a row with other columns than the statement's is a bug."""
        if len(row) != len(self.columns):
            raise ValueError(f"row has {sorted(row)}, the statement takes {sorted(self.columns)}")
        return [row[column] for column in self.columns]


def _placeholders(count: int) -> str:
    return ", ".join(f"${n}" for n in range(1, count + 1))


def insert(table: str, columns: Sequence[str], *, conflict: str | None = None, keep: Sequence[str] = ()) -> Statement:
    """INSERT of `columns`; with `conflict` (the unique column), an upsert that overwrites every other
    column but those in `keep`."""
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_placeholders(len(columns))})"
    if conflict is not None:
        overwritten = [c for c in columns if c != conflict and c not in keep]
        sql += f" ON CONFLICT ({conflict}) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in overwritten)
    return Statement(sql, tuple(columns))


def update(table: str, columns: Sequence[str], *, where: Sequence[str]) -> Statement:
    """UPDATE of `columns` in the row whose `where` columns equal the row's MATCH-prefixed values."""
    matched = [MATCH + c for c in where]
    sets = ", ".join(f"{c} = ${n}" for n, c in enumerate(columns, start=1))
    conditions = " AND ".join(f"{c} = ${n}" for n, c in enumerate(where, start=len(columns) + 1))
    return Statement(f"UPDATE {table} SET {sets} WHERE {conditions}", (*columns, *matched))
