"""Records of a custom object, single and batch, through HubSpot's SDK (`/crm/v3/objects`), and the
date-versioned object paths raw."""

import pytest

from hs_helpers import SimControl, api_error, api_fixture, call, conforms, deserialize, parse_error
from hs_helpers import validating


basic = api_fixture(lambda client: client.crm.objects.basic_api)
batch = api_fixture(lambda client: client.crm.objects.batch_api)


@pytest.fixture(scope="module")
def contact(client):
    api = validating(client.crm.objects.basic_api)
    body = deserialize(api, {"properties": {"email": "a@example.com"}}, "SimplePublicObjectInputForCreate")
    return call(api.create, "contacts", body, status=201, model="SimplePublicObject").id


def _m(api, body, model):
    return deserialize(api, body, model)


def _upsert(batch, widget, *sf_ids, extra=None):
    inputs = [
        {"idProperty": "sf_id", "id": s, "properties": {"name": f"n-{s}", **(extra or {})}}
        for s in sf_ids
    ]
    body = _m(batch, {"inputs": inputs}, "BatchInputSimplePublicObjectBatchInputUpsert")
    return call(batch.upsert, widget, body, status=200, model="BatchResponseSimplePublicUpsertObject")


def test_create_get_update_one(basic, widget):
    body = _m(basic, {"properties": {"name": "one", "amount": "5"}}, "SimplePublicObjectInputForCreate")
    created = call(basic.create, widget, body, status=201, model="SimplePublicObject")
    assert created.properties["name"] == "one"
    assert created.archived is False and created.created_at is not None
    got = call(
        basic.get_by_id, widget, created.id, properties=["name", "amount"],
        status=200, model="SimplePublicObjectWithAssociations",
    )
    assert got.properties["amount"] == "5"
    patch = _m(basic, {"properties": {"amount": "7"}}, "SimplePublicObjectInput")
    updated = call(basic.update, widget, created.id, patch, status=200, model="SimplePublicObject")
    assert updated.properties["amount"] == "7"


def test_get_page_pages_with_after(basic, batch, widget):
    _upsert(batch, widget, "pg-1", "pg-2", "pg-3")
    seen, after = [], None
    while True:
        kw = {"after": after} if after else {}
        page = call(
            basic.get_page, widget, limit=2, properties=["name"], status=200,
            model="CollectionResponseSimplePublicObjectWithAssociationsForwardPaging", **kw,
        )
        seen += [r.properties["name"] for r in page.results]
        if not page.paging:
            break
        after = page.paging.next.after
    assert {"n-pg-1", "n-pg-2", "n-pg-3"} <= set(seen)
    assert len(seen) == len(set(seen))


def test_upsert_creates_then_updates_by_id_property(batch, widget):
    first = _upsert(batch, widget, "up-1", "up-2")
    assert first.status == "COMPLETE"
    assert first.started_at is not None and first.completed_at is not None
    assert [r.new for r in first.results] == [True, True]
    second = _upsert(batch, widget, "up-1", extra={"amount": "3"})
    assert second.results[0].new is False
    assert second.results[0].id == first.results[0].id


def test_read_one_by_id_property(basic, batch, widget):
    made = _upsert(batch, widget, "rid-1").results[0]
    got = call(
        basic.get_by_id, widget, "rid-1", id_property="sf_id", properties=["sf_id"],
        status=200, model="SimplePublicObjectWithAssociations",
    )
    assert got.id == made.id and got.properties["sf_id"] == "rid-1"


def test_batch_read_by_id_property(batch, widget):
    _upsert(batch, widget, "br-1", "br-2")
    body = _m(
        batch,
        {"idProperty": "sf_id", "properties": ["name"], "propertiesWithHistory": [],
         "inputs": [{"id": "br-1"}, {"id": "br-2"}]},
        "BatchReadInputSimplePublicObjectId",
    )
    r = call(batch.read, widget, body, status=200, model="BatchResponseSimplePublicObject")
    assert sorted(x.properties["name"] for x in r.results) == ["n-br-1", "n-br-2"]


def test_batch_read_with_a_missing_id_is_207_with_errors(batch, widget):
    made = _upsert(batch, widget, "mr-1").results[0]
    body = _m(
        batch,
        {"properties": ["name"], "propertiesWithHistory": [], "inputs": [{"id": made.id}, {"id": "999"}]},
        "BatchReadInputSimplePublicObjectId",
    )
    r = call(batch.read, widget, body, status=207, model="BatchResponseSimplePublicObjectWithErrors")
    assert r.num_errors == 1
    assert r.errors[0].category == "OBJECT_NOT_FOUND"
    assert r.errors[0].context["ids"] == ["999"]
    assert [x.id for x in r.results] == [made.id]


def test_batch_create_with_inline_associations(client, batch, widget, contact):
    labels = call(
        validating(client.crm.associations.v4.schema.definitions_api).get_all,
        widget, "contacts", status=200, model="CollectionResponseAssociationSpecWithLabelNoPaging",
    )
    spec = labels.results[0]
    body = _m(
        batch,
        {"inputs": [{
            "properties": {"name": "with-contact", "sf_id": "bc-1"},
            "associations": [{"to": {"id": contact}, "types": [
                {"associationCategory": spec.category, "associationTypeId": spec.type_id}]}],
        }]},
        "BatchInputSimplePublicObjectBatchInputForCreate",
    )
    r = call(batch.create, widget, body, status=201, model="BatchResponseSimplePublicObject")
    new_id = r.results[0].id
    assoc = call(
        validating(client.crm.associations.v4.basic_api).get_page,
        widget, new_id, "contacts", status=200,
        model="CollectionResponseMultiAssociatedObjectWithLabelForwardPaging",
    )
    assert [str(a.to_object_id) for a in assoc.results] == [contact]


def test_batch_create_with_trace_ids_is_207_for_the_bad_input(batch, widget):
    body = _m(
        batch,
        {"inputs": [
            {"objectWriteTraceId": "t1", "properties": {"name": "ok", "sf_id": "tr-1"}},
            {"objectWriteTraceId": "t2", "properties": {"name": "bad", "amount": "1,000"}},
        ]},
        "BatchInputSimplePublicObjectBatchInputForCreate",
    )
    r = call(batch.create, widget, body, status=207, model="BatchResponseSimplePublicObjectWithErrors")
    assert r.num_errors == 1 and len(r.results) == 1
    assert r.errors[0].category == "VALIDATION_ERROR"


def test_batch_update(batch, widget):
    made = _upsert(batch, widget, "bu-1").results[0]
    body = _m(
        batch,
        {"inputs": [{"id": made.id, "properties": {"amount": "11"}}]},
        "BatchInputSimplePublicObjectBatchInput",
    )
    r = call(batch.update, widget, body, status=200, model="BatchResponseSimplePublicObject")
    assert r.results[0].properties["amount"] == "11"


def test_batch_update_by_id_property(batch, widget):
    _upsert(batch, widget, "bup-1")
    body = _m(
        batch,
        {"inputs": [{"id": "bup-1", "idProperty": "sf_id", "properties": {"amount": "12"}}]},
        "BatchInputSimplePublicObjectBatchInput",
    )
    r = call(batch.update, widget, body, status=200, model="BatchResponseSimplePublicObject")
    assert r.results[0].properties["amount"] == "12"


def test_batch_archive_then_archived_reads(basic, batch, widget):
    ids = [r.id for r in _upsert(batch, widget, "ar-1", "ar-2").results]
    body = _m(batch, {"inputs": [{"id": i} for i in ids]}, "BatchInputSimplePublicObjectId")
    call(batch.archive, widget, body, status=204)
    api_error(basic.get_by_id, widget, ids[0], status=404)
    one = call(
        basic.get_by_id, widget, ids[0], archived=True, status=200,
        model="SimplePublicObjectWithAssociations",
    )
    assert one.archived is True and one.archived_at is not None
    page = call(
        basic.get_page, widget, archived=True, limit=100, status=200,
        model="CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
    )
    assert set(ids) <= {r.id for r in page.results}
    read = _m(
        batch,
        {"properties": [], "propertiesWithHistory": [], "inputs": [{"id": i} for i in ids]},
        "BatchReadInputSimplePublicObjectId",
    )
    r = call(batch.read, widget, read, archived=True, status=200, model="BatchResponseSimplePublicObject")
    assert sorted(x.id for x in r.results) == sorted(ids)
    assert all(x.archived for x in r.results)


def test_archive_one_answers_204(basic, batch, widget):
    rid = _upsert(batch, widget, "a1-1").results[0].id
    call(basic.archive, widget, rid, status=204)
    api_error(basic.get_by_id, widget, rid, status=404)


def test_unknown_property_is_400_validation_error(basic, widget):
    body = _m(basic, {"properties": {"name": "x", "nope": "1"}}, "SimplePublicObjectInputForCreate")
    _, err = api_error(basic.create, widget, body, status=400)
    e = parse_error(basic, err)
    assert e.category == "VALIDATION_ERROR"
    assert e.errors[0].code == "PROPERTY_DOESNT_EXIST"


def test_invalid_option_is_400(basic, widget):
    body = _m(basic, {"properties": {"name": "x", "color": "green"}}, "SimplePublicObjectInputForCreate")
    _, err = api_error(basic.create, widget, body, status=400)
    assert parse_error(basic, err).errors[0].code == "INVALID_OPTION"


def test_duplicate_ids_in_a_batch_are_400(batch, widget):
    body = _m(
        batch,
        {"inputs": [{"idProperty": "sf_id", "id": "d", "properties": {"name": "a"}},
                    {"idProperty": "sf_id", "id": "d", "properties": {"name": "b"}}]},
        "BatchInputSimplePublicObjectBatchInputUpsert",
    )
    _, err = api_error(batch.upsert, widget, body, status=400)
    e = parse_error(batch, err)
    assert e.category == "VALIDATION_ERROR" and e.context["ids"] == ["d"]


def test_unique_value_conflict_is_409(basic, batch, widget):
    _upsert(batch, widget, "uq-1")
    body = _m(basic, {"properties": {"name": "x", "sf_id": "uq-1"}}, "SimplePublicObjectInputForCreate")
    _, err = api_error(basic.create, widget, body, status=409)
    assert parse_error(basic, err).category == "CONFLICT"


def test_unknown_record_is_404(basic, widget):
    _, err = api_error(basic.get_by_id, widget, "424242", status=404)
    assert parse_error(basic, err).category == "OBJECT_NOT_FOUND"


def test_update_of_unknown_record_is_404(basic, widget):
    patch = _m(basic, {"properties": {"amount": "1"}}, "SimplePublicObjectInput")
    _, err = api_error(basic.update, widget, "424242", patch, status=404)
    assert parse_error(basic, err).category == "OBJECT_NOT_FOUND"


@pytest.mark.parametrize("version", ["2026-03", "2026-09"])
def test_date_versioned_object_paths(hubspot_sim, basic, batch, widget, version):
    sim = SimControl(hubspot_sim)
    base = f"/crm/objects/{version}/{widget}"
    r = sim.raw("POST", f"{base}/batch/upsert", {"inputs": [
        {"idProperty": "sf_id", "id": f"dv-{version}", "properties": {"name": "dv"}}]})
    assert r.status_code == 200, r.text
    rid = conforms(batch, r.json(), "BatchResponseSimplePublicUpsertObject").results[0].id
    r = sim.raw("GET", f"{base}/{rid}", params={"properties": "name"})
    assert r.status_code == 200
    assert conforms(basic, r.json(), "SimplePublicObjectWithAssociations").properties["name"] == "dv"
    r = sim.raw("GET", base, params={"limit": "1"})
    assert r.status_code == 200
    conforms(basic, r.json(), "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging")
    r = sim.raw("POST", f"{base}/batch/read", {"inputs": [{"id": rid}], "properties": ["name"]})
    assert r.status_code == 200
    conforms(batch, r.json(), "BatchResponseSimplePublicObject")
