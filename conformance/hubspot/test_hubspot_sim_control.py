"""The simulator's request log (`/_sim/requests`), which the product-requests test relies on."""

import pytest

from hs_helpers import SimControl


@pytest.fixture(scope="module")
def sim(hubspot_sim):
    return SimControl(hubspot_sim)


def test_api_requests_are_recorded_with_query_and_json_body(sim):
    sim.http.delete(f"{sim.url}/_sim/requests", timeout=10).raise_for_status()
    sim.raw("POST", "/crm/v3/objects/contacts/search", {"limit": 1})
    sim.raw("GET", "/crm/v3/objects/contacts", params={"limit": "2", "archived": "True"})
    sim.raw("GET", "/crm/v3/no/such/route")
    sim.http.get(f"{sim.url}/_sim/config", timeout=10)
    got = sim.http.get(f"{sim.url}/_sim/requests", timeout=10).json()["results"]
    assert got == [
        {"method": "POST", "path": "/crm/v3/objects/contacts/search", "query": "", "body": {"limit": 1}},
        {"method": "GET", "path": "/crm/v3/objects/contacts", "query": "limit=2&archived=True", "body": None},
        {"method": "GET", "path": "/crm/v3/no/such/route", "query": "", "body": None},
    ]


def test_delete_clears_the_log(sim):
    sim.raw("GET", "/crm/v3/objects/contacts")
    assert sim.http.delete(f"{sim.url}/_sim/requests", timeout=10).status_code == 204
    assert sim.http.get(f"{sim.url}/_sim/requests", timeout=10).json() == {"results": []}
