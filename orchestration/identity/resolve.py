"""Identity resolution end to end: records in, people and the links that made them out."""

import time
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.identity.clusters import person_ids
from orchestration.identity.deterministic import deterministic_links
from orchestration.identity.erasure import key_hash
from orchestration.identity.probabilistic import probabilistic_links, profile_links
from orchestration.identity.standardize import standardize

SUPPRESSED = ("record_key", "source", "source_id")
OUTPUT_COLUMNS = (
    "record_key",
    "source",
    "source_id",
    "person_id",
    "cluster_size",
    "email_key",
    "phone_e164",
    "first_name_key",
    "last_name_key",
    "street_key",
    "postal5",
    "company_key",
    "created_at",
)


@dataclass
class Resolution:
    records: pa.Table  # the standardized records, with `person_id`
    links: pa.Table  # every link, with its rule or match weight and what agreed
    seconds: dict[str, float] = field(default_factory=dict)
    # Records of erased people: only their source ids are kept, so later steps can leave them out.
    suppressed: pa.Table = field(default_factory=lambda: pa.table({c: pa.array([], pa.string()) for c in SUPPRESSED}))

    @property
    def people(self) -> int:
        return pc.count_distinct(self.records["person_id"]).as_py()

    def person_records(self) -> pa.Table:
        """What silver keeps: each record's person and its match keys, in record-key order."""
        return self.records.select(list(OUTPUT_COLUMNS)).sort_by("record_key")

    def links_by_rule(self) -> dict[str, int]:
        counts = self.links.group_by("rule").aggregate([("rule", "count")])
        return dict(zip(counts["rule"].to_pylist(), counts["rule_count"].to_pylist(), strict=True))


def resolve(records: pa.Table, erased: set[str] | frozenset[str] = frozenset()) -> Resolution:
    """Resolves `records` into people; a person any of whose records carries an email in
    `erased` (registry hashes, see `erasure`) is left out whole, keeping only its record ids."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    standardized = standardize(records)
    seconds["standardize"] = time.perf_counter() - started
    with duckdb.connect() as con:
        con.register("records", standardized)
        started = time.perf_counter()
        links = deterministic_links(con)
        seconds["deterministic"] = time.perf_counter() - started
        started = time.perf_counter()
        matched = probabilistic_links(con)
        links = pa.concat_tables([links, profile_links(con), matched])
        seconds["probabilistic"] = time.perf_counter() - started
    started = time.perf_counter()
    people = person_ids(standardized, links)
    seconds["cluster"] = time.perf_counter() - started
    joined = standardized.join(people, "record_key")
    if not erased:
        return Resolution(records=joined, links=links, seconds=seconds)
    hashes = {key: key_hash(key) for key in set(joined["email_key"].to_pylist()) if key}
    erased_people = {
        person
        for key, person in zip(joined["email_key"].to_pylist(), joined["person_id"].to_pylist(), strict=True)
        if key and hashes[key] in erased
    }
    gone = pc.is_in(joined["person_id"], value_set=pa.array(sorted(erased_people), pa.string()))
    suppressed = joined.filter(gone)
    gone_keys = suppressed["record_key"].combine_chunks()
    touches = pc.or_(
        pc.is_in(links["record_key_l"], value_set=gone_keys), pc.is_in(links["record_key_r"], value_set=gone_keys)
    )
    return Resolution(
        records=joined.filter(pc.invert(gone)),
        links=links.filter(pc.invert(touches)),
        seconds=seconds,
        suppressed=suppressed.select(list(SUPPRESSED)).sort_by("record_key"),
    )
