"""Where a running sandbox can be found: `DATA_DIR/sandbox/endpoints.json`.

`leadloop sandbox` and `leadloop dev` write it; the Dagster resources read it when no CRM
credentials are set. It holds the sandbox's fixed token, never a real credential.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def endpoints_path(data_dir: Path) -> Path:
    return Path(data_dir) / "sandbox" / "endpoints.json"


def write_endpoints(data_dir: Path, **services: dict[str, Any]) -> Path:
    path = endpoints_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(services, indent=2, sort_keys=True))
    return path


def read_endpoints(data_dir: Path) -> dict[str, Any] | None:
    path = endpoints_path(data_dir)
    if not path.exists():
        return None
    return json.loads(path.read_text())
