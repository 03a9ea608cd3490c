"""Which files in a landing folder need reading: those whose listing changed since they loaded.

A run lists the folder with details (size and modification stamp, as the filesystem reports
them: `mtime` locally, `LastModified`/`ETag` on S3, `updated`/`md5Hash` on GCS) and reads only
the files whose listing differs from the one remembered when they loaded (or that have no
stamp at all). An incremental run
therefore reads the new day's files and nothing else; the content hash stays the final word on
whether a file that *was* read holds anything new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The keys fsspec implementations use for a file's version, most specific first.
_VERSION_KEYS = ("mtime", "LastModified", "last_modified", "updated", "ETag", "etag", "md5Hash", "created")


@dataclass(frozen=True)
class LandedFile:
    path: str  # as the filesystem names it
    name: str  # relative to the landing root: what state and `source_file` record
    listing: str | None  # size and version stamp; None where the filesystem reports no version


def changed_files(fs: Any, root: str, pattern: str, listings: dict[str, str]) -> list[LandedFile]:
    """Files under `root` matching `pattern` whose listing is not the one in `listings`, in
    name order."""
    root = root.rstrip("/")
    found = fs.glob(f"{root}/{pattern}", detail=True)
    files = []
    for path, info in sorted(found.items()):
        if info.get("type", "file") != "file":
            continue
        name = path[len(root) + 1 :]
        stamp = listing(info)
        if stamp is None or listings.get(name) != stamp:
            files.append(LandedFile(path=path, name=name, listing=stamp))
    return files


def listing(info: dict[str, Any]) -> str | None:
    """Size and version stamp; None (read every time, the hash decides) when there is no stamp."""
    version = next((info[key] for key in _VERSION_KEYS if info.get(key) is not None), None)
    return None if version is None else f"{info.get('size')}:{version}"
