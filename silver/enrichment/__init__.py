"""Firmographic enrichment keyed by company domain: a provider interface, the reference-file
provider the local world ships, and the guards every real provider call needs (timeout, cache,
circuit breaker)."""
