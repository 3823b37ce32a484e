"""`POST /crm/v3/objects/{type}/search` through HubSpot's SDK: filters, sorting, paging, total."""

import pytest

from hs_helpers import SimControl, api_error, api_fixture, call, conforms, create_widget_schema
from hs_helpers import deserialize, sdk, validating


search = api_fixture(lambda client: client.crm.objects.search_api)


@pytest.fixture(scope="module")
def widget(client):
    t = create_widget_schema(client).object_type_id
    batch = validating(client.crm.objects.batch_api)
    inputs = [
        {"idProperty": "sf_id", "id": f"s-{i}", "properties": {"name": f"w{i}", "amount": str(i)}}
        for i in range(7)
    ]
    body = deserialize(batch, {"inputs": inputs}, "BatchInputSimplePublicObjectBatchInputUpsert")
    call(batch.upsert, t, body, status=200, model="BatchResponseSimplePublicUpsertObject")
    return t


@pytest.fixture(autouse=True)
def fresh_search_budget(hubspot_sim):
    """Search allows 5 requests a second; each test starts with a fresh budget."""
    SimControl(hubspot_sim).reset_limits()


def _req(search, **body):
    return deserialize(search, body, "PublicObjectSearchRequest")


def test_filters_sort_and_total(search, widget):
    req = _req(
        search,
        filterGroups=[{"filters": [{"propertyName": "amount", "operator": "GTE", "value": "4"}]}],
        sorts=["-amount"],
        properties=["name", "amount"],
        limit=10,
    )
    r = call(search.do_search, widget, req, status=200,
             model="CollectionResponseWithTotalSimplePublicObjectForwardPaging")
    assert r.total == 3
    assert [x.properties["amount"] for x in r.results] == ["6", "5", "4"]
    assert r.paging is None


def test_pages_with_after_until_done(search, widget):
    seen, after = [], None
    for _ in range(5):
        body = {"filterGroups": [], "sorts": ["amount"], "properties": ["amount"], "limit": 3}
        if after:
            body["after"] = after
        r = call(search.do_search, widget, _req(search, **body), status=200,
                 model="CollectionResponseWithTotalSimplePublicObjectForwardPaging")
        assert r.total == 7
        seen += [x.properties["amount"] for x in r.results]
        if r.paging is None:
            break
        after = r.paging.next.after
    assert seen == [str(i) for i in range(7)]


def test_in_operator_and_or_groups(search, widget):
    req = _req(
        search,
        filterGroups=[
            {"filters": [{"propertyName": "sf_id", "operator": "IN", "values": ["s-1", "s-2"]}]},
            {"filters": [{"propertyName": "name", "operator": "EQ", "value": "w6"}]},
        ],
        properties=["sf_id"],
    )
    r = call(search.do_search, widget, req, status=200,
             model="CollectionResponseWithTotalSimplePublicObjectForwardPaging")
    assert sorted(x.properties["sf_id"] for x in r.results) == ["s-1", "s-2", "s-6"]


def test_sort_object_form_as_documented(hubspot_sim, search, widget):
    r = SimControl(hubspot_sim).raw(
        "POST", f"/crm/objects/2026-09/{widget}/search",
        {"sorts": [{"propertyName": "amount", "direction": "DESCENDING"}], "properties": ["amount"], "limit": 1},
    )
    assert r.status_code == 200
    page = conforms(search, r.json(), "CollectionResponseWithTotalSimplePublicObjectForwardPaging")
    assert page.results[0].properties["amount"] == "6"


def test_too_many_filter_groups_is_400(search, widget):
    groups = [{"filters": [{"propertyName": "name", "operator": "EQ", "value": "x"}]}] * 6
    _, body = api_error(search.do_search, widget, _req(search, filterGroups=groups), status=400)
    assert body["category"] == "VALIDATION_ERROR"


def test_sixth_search_in_a_second_is_429_without_rate_limit_headers(search, widget):
    req = _req(search, limit=1)
    for _ in range(5):
        call(search.do_search, widget, req, status=200,
             model="CollectionResponseWithTotalSimplePublicObjectForwardPaging")
    e, body = api_error(search.do_search, widget, req, status=429)
    assert body["status"] == "error" and body["category"] == "RATE_LIMITS"
    assert body["message"] == "You have reached your secondly limit."
    assert not any(k.lower().startswith("x-hubspot-ratelimit") for k in e.headers)
