"""The HubSpot destination's batch bodies: what HubSpot is sent for each kind of write, built
without a Configuration per input (each one the generated models make on their own resets every
logger in the process; at 1M leads that was half a minute of a sync, issue 24)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.objects.configuration import Configuration

from reverse_etl.destinations.hubspot import HubSpotDestination
from reverse_etl.planner import RecordChange
from reverse_etl.spec import load_spec

SPEC = load_spec("contact_scores_to_hubspot")
BY_EMAIL = dataclasses.replace(SPEC, id_property="email")
UPSERT = dataclasses.replace(SPEC, operation="upsert", id_property="email", create_when="may_create")


def _changes(count: int) -> list[RecordChange]:
    return [
        RecordChange(f"{n}", {"leadloop_score": n, "leadloop_grade": "B", "leadloop_reasons": None}, f"h{n}", "new")
        for n in range(count)
    ]


@pytest.fixture
def made_configurations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the Configurations the client's models make for themselves."""
    made: list[int] = []
    original = Configuration.get_default_copy.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Configuration]) -> Configuration:
        made.append(1)
        return original(cls)

    monkeypatch.setattr(Configuration, "get_default_copy", classmethod(counting))
    return made


def _sent(client: HubSpot, body: Any) -> Any:
    return client.crm.objects.batch_api.api_client.sanitize_for_serialization(body)


def test_a_batch_of_100_makes_no_configuration_of_its_own(made_configurations: list[int]) -> None:
    destination = HubSpotDestination(HubSpot(access_token="not-used"))
    configurations = set()
    for spec, action in ((SPEC, "update"), (BY_EMAIL, "update"), (UPSERT, "upsert")):
        body = destination.batch_body(spec, _changes(100), action)
        assert len(body.inputs) == 100
        configurations |= {id(item.local_vars_configuration) for item in [body, *body.inputs]}
    assert made_configurations == []
    assert len(configurations) == 1  # the destination's own, for every batch


def test_each_kind_of_write_sends_what_hubspot_expects() -> None:
    client = HubSpot(access_token="not-used")
    destination = HubSpotDestination(client)
    props = {"leadloop_score": "1", "leadloop_grade": "B", "leadloop_reasons": ""}
    (one,) = _changes(2)[1:]
    assert _sent(client, destination.batch_body(SPEC, [one], "update")) == {
        "inputs": [{"id": "1", "properties": props}]
    }
    by_email = {"inputs": [{"idProperty": "email", "objectWriteTraceId": "0", "id": "1", "properties": props}]}
    assert _sent(client, destination.batch_body(BY_EMAIL, [one], "update")) == by_email
    assert _sent(client, destination.batch_body(UPSERT, [one], "upsert")) == by_email
