"""Predictive scoring on gold: a propensity model trained on the outcomes the CRM observed.

Kept apart from silver/ because it reads gold and writes gold, and from orchestration/ so it is
testable without Dagster (the asset is a thin call into `scoring.propensity.run_propensity`).
"""
