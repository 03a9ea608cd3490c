"""Keys carried over from the last run: a record whose fields did not change keeps its keys
without being standardized again, and the result is the same as standardizing everything."""

import pyarrow as pa
import pyarrow.compute as pc

from silver.identity.reused_keys import HASH_COLUMN, input_hashes, standardize_reusing
from silver.identity.standardize import ERASED, KEY_COLUMNS, standardize
from tests.unit.test_identity_matching import name_and_address_world


def _kept(standardized: pa.Table) -> pa.Table:
    """What the next run reads back of this one: record keys, hashes and keys."""
    return standardized.select(["record_key", HASH_COLUMN, *KEY_COLUMNS])


def _edited(world: pa.Table, column: str, rows: dict[int, str | None]) -> pa.Table:
    values = world[column].to_pylist()
    for row, value in rows.items():
        values[row] = value
    return world.set_column(world.schema.get_field_index(column), column, pa.array(values, pa.string()))


def test_without_a_last_run_every_record_is_standardized():
    world = name_and_address_world(30)
    out, anew = standardize_reusing(world)
    assert anew == world.num_rows
    assert out.drop_columns([HASH_COLUMN]).equals(standardize(world))
    assert out[HASH_COLUMN].null_count == 0 and pc.count_distinct(out[HASH_COLUMN]).as_py() == world.num_rows


def test_unchanged_records_carry_their_keys_and_changed_ones_are_standardized_again():
    yesterday = name_and_address_world(30)
    kept = _kept(standardize_reusing(yesterday)[0])
    # Today: two records edited, one erased, one gone and a new one (a copy of another's fields).
    today = _edited(yesterday, "city", {3: "Bristol ", 10: "Sydney"})
    today = _edited(today, "last_name", {5: ERASED})
    today = today.slice(1)
    today = pa.concat_tables([today, today.slice(0, 1).set_column(0, "record_key", pa.array(["new:1"]))])
    keys = yesterday["record_key"].to_pylist()
    changed = {keys[3], keys[10], keys[5], "new:1"}  # row 0 is gone

    out, anew = standardize_reusing(today, kept)
    assert anew == len(changed)
    # The same table as standardizing everyone, in today's order.
    assert out.drop_columns([HASH_COLUMN]).equals(standardize(today))
    assert out[HASH_COLUMN].to_pylist() == input_hashes(today).to_pylist()
    assert out.filter(pc.equal(out["record_key"], keys[5]))["last_name"].to_pylist() == [None]  # erased: blanked

    # Carried, not recomputed: yesterday's keys marked, every unchanged record shows the mark.
    marked = kept.set_column(kept.schema.get_field_index("city_key"), "city_key", pa.array(["kept"] * kept.num_rows))
    out, _ = standardize_reusing(today, marked)
    carried = dict(zip(out["record_key"].to_pylist(), out["city_key"].to_pylist(), strict=True))
    assert {key for key, city in carried.items() if city != "kept"} == changed


def test_a_change_to_what_decides_the_keys_standardizes_everyone_again(monkeypatch):
    world = name_and_address_world(12)
    monkeypatch.setenv("LEADLOOP_DEFAULT_COUNTRY", "US")
    kept = _kept(standardize_reusing(world)[0])
    assert standardize_reusing(world, kept)[1] == 0
    monkeypatch.setenv("LEADLOOP_DEFAULT_COUNTRY", "GB")  # a record without a country is now read as British
    out, anew = standardize_reusing(world, lambda: kept)
    assert anew == world.num_rows
    assert out.drop_columns([HASH_COLUMN]).equals(standardize(world))


def test_a_value_moving_between_fields_is_a_change():
    """The hash reads the fields in order: the same values in other columns are other inputs."""
    world = name_and_address_world(3).slice(0, 1)
    swapped = _edited(_edited(world, "first_name", {0: world["last_name"][0].as_py()}), "last_name",
                      {0: world["first_name"][0].as_py()})  # fmt: skip
    blank = _edited(world, "first_name", {0: ""})
    missing = _edited(world, "first_name", {0: None})
    hashes = {input_hashes(t)[0].as_py() for t in (world, swapped, blank, missing)}
    assert len(hashes) == 4
