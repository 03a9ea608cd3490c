"""The silver layer's Python: identity resolution, erasure and firmographic enrichment.

The rest of silver is dbt. What lives here needs libraries SQL does not have (`phonenumbers`,
Splink, a provider client), and is importable and testable without Dagster: the Dagster assets
in `orchestration/assets/` are thin calls into it.
"""
