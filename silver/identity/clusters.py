"""People from links: connected components, each named by its earliest record.

`person_id` is a hash of the cluster's earliest record (by creation time, then key), so it
survives reruns and the arrival of unrelated records; it changes only when the cluster does
(two people found to be one take the older one's id).
"""

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def person_ids(records: pa.Table, links: pa.Table) -> pa.Table:
    """`record_key`, `person_id` and `cluster_size` for every record of `records`."""
    by_age = [("created_at", "ascending", "at_end"), ("record_key", "ascending", "at_end")]
    order = pc.sort_indices(records, sort_keys=by_age)
    keys = records["record_key"].take(order).combine_chunks()
    n = len(keys)
    left = pc.index_in(links["record_key_l"], value_set=keys).to_numpy(zero_copy_only=False)
    right = pc.index_in(links["record_key_r"], value_set=keys).to_numpy(zero_copy_only=False)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    # Rows are in age order, so a component's first row is its earliest record.
    first_row = np.full(label.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first_row, label, np.arange(n))
    cluster_ids = pa.array([_person_id(key) for key in keys.take(pa.array(first_row)).to_pylist()], pa.string())
    sizes = np.bincount(label)[label] if n else np.array([], dtype=np.int64)
    return pa.table({"record_key": keys, "person_id": cluster_ids.take(pa.array(label)), "cluster_size": sizes})


def _person_id(anchor_key: str) -> str:
    return "per_" + hashlib.sha256(anchor_key.encode()).hexdigest()[:20]
