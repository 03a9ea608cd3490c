"""A partner's file dialect, declared in `partners/<partner>.yaml`: adding a partner is a file.

Every partner maps its own headers to the same canonical names, so all partners land in one
table per record kind. The barcode may span several columns (split tracking/routing, or the
IMb fields); their values are joined in the listed order and read by `ingestion.imb.normalize`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CONFIG_DIR = Path(__file__).with_name("partners")
# A folder of partner YAML files to use instead of CONFIG_DIR (a tenant's own partners).
PARTNER_CONFIGS_ENV = "LEADLOOP_PARTNER_CONFIGS_DIR"
# Record kind as the file name says it → the unified bronze table it lands in.
KINDS: dict[str, str] = {
    "mailed": "mailed_records",
    "delivered": "delivery_confirmations",
    "callbacks": "callbacks",
}


class PartnerConfigError(ValueError):
    """A partner config that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class PartnerConfig:
    partner: str
    files: str  # glob below the drop folder, with `{kind}` for the record kind
    format: str  # "csv" (any delimiter) or "xlsx"
    date_format: str
    datetime_format: str
    barcode: tuple[str, ...]
    columns: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8"
    decimal_comma: bool = False

    def pattern(self, kind: str) -> str:
        return self.files.format(kind=kind)

    def kind_of(self, relative_path: str) -> str | None:
        return next((kind for kind in KINDS if fnmatch.fnmatch(relative_path, self.pattern(kind))), None)

    def header(self, canonical: str) -> str:
        return self.columns.get(canonical, canonical)


def load_partner_configs(directory: Path = CONFIG_DIR) -> list[PartnerConfig]:
    configs = []
    for path in sorted(Path(directory).glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        try:
            config = PartnerConfig(
                partner=str(raw["partner"]),
                files=str(raw["files"]),
                format=str(raw["format"]),
                date_format=str(raw["date_format"]),
                datetime_format=str(raw["datetime_format"]),
                barcode=tuple(str(c) for c in raw["barcode"]),
                columns={str(k): str(v) for k, v in (raw.get("columns") or {}).items()},
                delimiter=str(raw.get("delimiter", ",")),
                encoding=str(raw.get("encoding", "utf-8")),
                decimal_comma=bool(raw.get("decimal_comma", False)),
            )
        except KeyError as exc:
            raise PartnerConfigError(f"{path}: missing required field {exc.args[0]!r}") from None
        if config.format not in {"csv", "xlsx"}:
            raise PartnerConfigError(f"{path}: format must be csv or xlsx, not {config.format!r}")
        if "{kind}" not in config.files:
            raise PartnerConfigError(f"{path}: files must contain {{kind}} to tell record kinds apart")
        configs.append(config)
    return configs
