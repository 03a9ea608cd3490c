"""A landing file's listing: what a run compares to decide whether to read it at all."""

from __future__ import annotations

import fsspec

from ingestion.landed_files import changed_files, listing


def test_listing_uses_the_version_stamp_each_filesystem_reports():
    assert listing({"size": 10, "mtime": 1.5}) == "10:1.5"  # local
    assert listing({"size": 10, "LastModified": "2026-11-01T00:00:00Z", "ETag": '"abc"'}) == "10:2026-11-01T00:00:00Z"
    assert listing({"size": 10, "md5Hash": "xyz"}) == "10:xyz"  # GCS without `updated`
    assert listing({"size": 10}) is None  # no stamp: always read, the content hash decides


def test_only_new_or_restamped_files_are_listed_for_reading():
    fs = fsspec.filesystem("memory")
    fs.pipe({"/landing/a/1.jsonl": b"{}\n", "/landing/a/2.jsonl": b"{}\n", "/landing/a/skip.txt": b""})
    first = changed_files(fs, "/landing", "a/*.jsonl", {})
    assert [f.name for f in first] == ["a/1.jsonl", "a/2.jsonl"]
    remembered = {f.name: f.listing for f in first}
    assert changed_files(fs, "/landing", "a/*.jsonl", remembered) == []
    remembered["a/2.jsonl"] = "0:then"
    assert [f.name for f in changed_files(fs, "/landing/", "a/*.jsonl", remembered)] == ["a/2.jsonl"]
