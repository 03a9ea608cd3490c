"""Identity resolution end to end: records in, people and the links that made them out."""

import time
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.identity.clusters import person_ids
from orchestration.identity.deterministic import deterministic_links
from orchestration.identity.probabilistic import probabilistic_links, profile_links
from orchestration.identity.standardize import standardize

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

    @property
    def people(self) -> int:
        return pc.count_distinct(self.records["person_id"]).as_py()

    def person_records(self) -> pa.Table:
        """What silver keeps: each record's person and its match keys, in record-key order."""
        return self.records.select(list(OUTPUT_COLUMNS)).sort_by("record_key")

    def links_by_rule(self) -> dict[str, int]:
        counts = self.links.group_by("rule").aggregate([("rule", "count")])
        return dict(zip(counts["rule"].to_pylist(), counts["rule_count"].to_pylist(), strict=True))


def resolve(records: pa.Table) -> Resolution:
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
    return Resolution(records=joined, links=links, seconds=seconds)
