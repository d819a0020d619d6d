"""Write statements from one column list: placeholders follow the columns, upserts keep what they
should, and a row with a column too many or too few is refused rather than written shifted."""

from __future__ import annotations

import pytest

from persistence.statements import MATCH, insert, update


def test_an_upsert_overwrites_every_column_but_its_key_and_the_kept_ones() -> None:
    upsert = insert("t", ("id", "owner", "name", "created_at"), conflict="id", keep=("owner", "created_at"))
    assert upsert.sql == ("INSERT INTO t (id, owner, name, created_at) VALUES ($1, $2, $3, $4) "
                          "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name")
    assert upsert.args({"name": "n", "created_at": "c", "id": 1, "owner": "o"}) == [1, "o", "n", "c"]


def test_an_update_matches_on_values_of_its_own() -> None:
    changed = update("t", ("name", "version"), where=("id", "version"))
    assert changed.sql == "UPDATE t SET name = $1, version = $2 WHERE id = $3 AND version = $4"
    assert changed.args({"name": "n", "version": 8, MATCH + "id": 1, MATCH + "version": 7}) == ["n", 8, 1, 7]


@pytest.mark.parametrize("row", [{"id": 1}, {"id": 1, "name": "n", "extra": 0}])
def test_a_row_that_does_not_fit_is_refused(row: dict[str, object]) -> None:
    with pytest.raises((ValueError, KeyError)):
        insert("t", ("id", "name")).args(row)
