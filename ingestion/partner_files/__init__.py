"""Direct-mail partner files: one declarative config per partner, one bronze table per kind."""

from ingestion.partner_files.config import PartnerConfig, load_partner_configs
from ingestion.partner_files.source import partner_files_source

__all__ = ["PartnerConfig", "load_partner_configs", "partner_files_source"]
