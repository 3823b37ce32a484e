"""Associations v4 through HubSpot's SDK: label definitions, batch create / associate-default /
read / archive / labels archive, one record's associations with paging; date-versioned paths raw."""

import pytest

from hs_helpers import SimControl, api_error, api_fixture, call, conforms, deserialize, parse_error
from hs_helpers import validating


defs = api_fixture(lambda client: client.crm.associations.v4.schema.definitions_api)
batch = api_fixture(lambda client: client.crm.associations.v4.batch_api)
basic = api_fixture(lambda client: client.crm.associations.v4.basic_api)


def _records(client, object_type, n, props):
    api = validating(client.crm.objects.batch_api)
    body = deserialize(api, {"inputs": [{"properties": props(i)} for i in range(n)]},
                       "BatchInputSimplePublicObjectBatchInputForCreate")
    r = call(api.create, object_type, body, status=201, model="BatchResponseSimplePublicObject")
    return [x.id for x in r.results]


@pytest.fixture(scope="module")
def widgets(client, widget):
    return _records(client, widget, 3, lambda i: {"name": f"w{i}"})


@pytest.fixture(scope="module")
def contacts(client):
    return _records(client, "contacts", 5, lambda i: {"email": f"c{i}@example.com"})


@pytest.fixture(scope="module")
def default_spec(defs, widget):
    labels = call(defs.get_all, widget, "contacts", status=200,
                  model="CollectionResponseAssociationSpecWithLabelNoPaging")
    return next(s for s in labels.results if s.label is None)


def _targets(basic, from_type, from_id, to_type="contacts", **kw):
    r = call(basic.get_page, from_type, from_id, to_type, status=200,
             model="CollectionResponseMultiAssociatedObjectWithLabelForwardPaging", **kw)
    return r


@pytest.fixture(scope="module")
def owner(defs, widget):
    body = deserialize(defs, {"label": "Owner", "name": "owner", "inverseLabel": "Owned"},
                       "PublicAssociationDefinitionCreateRequest")
    created = call(defs.create, widget, "contacts", body, status=200,
                   model="CollectionResponseAssociationSpecWithLabelNoPaging")
    return next(s for s in created.results if s.label == "Owner")


def test_label_definitions_list_and_create(defs, widget, default_spec, owner):
    assert default_spec.category in ("USER_DEFINED", "HUBSPOT_DEFINED")
    assert owner.category == "USER_DEFINED" and owner.type_id != default_spec.type_id
    after = call(defs.get_all, widget, "contacts", status=200,
                 model="CollectionResponseAssociationSpecWithLabelNoPaging")
    assert {(s.type_id, s.label) for s in after.results} >= {(owner.type_id, "Owner"), (default_spec.type_id, None)}


def test_builtin_pair_has_hubspot_defined_default(defs):
    labels = call(defs.get_all, "contacts", "companies", status=200,
                  model="CollectionResponseAssociationSpecWithLabelNoPaging")
    assert (labels.results[0].category, labels.results[0].type_id) == ("HUBSPOT_DEFINED", 279)


def test_batch_create_answers_labels_between_object_pairs(batch, basic, widget, widgets, contacts, default_spec):
    body = deserialize(batch, {"inputs": [{
        "from": {"id": widgets[0]}, "to": {"id": contacts[0]},
        "types": [{"associationCategory": default_spec.category, "associationTypeId": default_spec.type_id}],
    }]}, "BatchInputPublicAssociationMultiPost")
    r = call(batch.create, widget, "contacts", body, status=201, model="BatchResponseLabelsBetweenObjectPair")
    assert r.status == "COMPLETE"
    res = r.results[0]
    assert (res.from_object_type_id, str(res.from_object_id)) == (widget, widgets[0])
    assert (res.to_object_type_id, str(res.to_object_id)) == ("0-1", contacts[0])
    assert [str(t.to_object_id) for t in _targets(basic, widget, widgets[0]).results] == [contacts[0]]


def test_batch_create_with_a_missing_record_is_207(batch, widget, widgets, default_spec):
    body = deserialize(batch, {"inputs": [{
        "from": {"id": widgets[0]}, "to": {"id": "9999"},
        "types": [{"associationCategory": default_spec.category, "associationTypeId": default_spec.type_id}],
    }]}, "BatchInputPublicAssociationMultiPost")
    r = call(batch.create, widget, "contacts", body, status=207,
             model="BatchResponseLabelsBetweenObjectPairWithErrors")
    assert r.num_errors == 1 and r.results == []
    assert r.errors[0].category == "OBJECT_NOT_FOUND"


def test_associate_default_answers_public_default_associations(batch, basic, widget, widgets, contacts, default_spec):
    body = deserialize(batch, {"inputs": [{"from": {"id": widgets[1]}, "to": {"id": contacts[1]}}]},
                       "BatchInputPublicDefaultAssociationMultiPost")
    r = call(batch.create_default, widget, "contacts", body, status=200,
             model="BatchResponsePublicDefaultAssociation")
    assert r.status == "COMPLETE"
    res = r.results[0]
    assert (res._from.id, res.to.id) == (widgets[1], contacts[1])
    assert res.association_spec.association_category == default_spec.category
    assert res.association_spec.association_type_id == default_spec.type_id
    assert [str(t.to_object_id) for t in _targets(basic, widget, widgets[1]).results] == [contacts[1]]


def test_batch_read_answers_targets_with_their_types(batch, widget, widgets, contacts):
    _default(batch, widget, widgets[2], contacts[2])
    body = deserialize(batch, {"inputs": [{"id": widgets[2]}]}, "BatchInputPublicFetchAssociationsBatchRequest")
    r = call(batch.get_page, widget, "contacts", body, status=200,
             model="BatchResponsePublicAssociationMultiWithLabel")
    assert r.results[0]._from.id == widgets[2]
    to = r.results[0].to[0]
    assert str(to.to_object_id) == contacts[2]
    assert to.association_types[0].category in ("USER_DEFINED", "HUBSPOT_DEFINED")


def test_batch_read_with_an_unknown_record_is_207(batch, widget, widgets):
    body = deserialize(batch, {"inputs": [{"id": widgets[0]}, {"id": "9999"}]},
                       "BatchInputPublicFetchAssociationsBatchRequest")
    r = call(batch.get_page, widget, "contacts", body, status=207,
             model="BatchResponsePublicAssociationMultiWithLabelWithErrors")
    assert r.num_errors == 1 and r.errors[0].context["ids"] == ["9999"]


def test_one_records_associations_page_with_limit_and_after(batch, basic, widget, widgets, contacts):
    for c in contacts:
        _default(batch, widget, widgets[0], c)
    seen, after = [], None
    for _ in range(5):
        page = _targets(basic, widget, widgets[0], limit=2, **({"after": after} if after else {}))
        assert len(page.results) <= 2
        seen += [str(t.to_object_id) for t in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert sorted(seen) == sorted(contacts)
    back = _targets(basic, "contacts", contacts[3], widget)
    assert [str(t.to_object_id) for t in back.results] == [widgets[0]]


def test_labels_archive_removes_one_label(batch, basic, widget, widgets, contacts, default_spec, owner):
    both = [{"associationCategory": default_spec.category, "associationTypeId": default_spec.type_id},
            {"associationCategory": owner.category, "associationTypeId": owner.type_id}]
    pair = {"from": {"id": widgets[2]}, "to": {"id": contacts[4]}}
    body = deserialize(batch, {"inputs": [{**pair, "types": both}]}, "BatchInputPublicAssociationMultiPost")
    created = call(batch.create, widget, "contacts", body, status=201, model="BatchResponseLabelsBetweenObjectPair")
    assert created.results[0].labels == ["Owner"]
    body = deserialize(batch, {"inputs": [{**pair, "types": both[1:]}]}, "BatchInputPublicAssociationMultiPost")
    call(batch.archive_labels, widget, "contacts", body, status=204)
    types = {str(t.to_object_id): t.association_types for t in _targets(basic, widget, widgets[2]).results}
    assert [t.type_id for t in types[contacts[4]]] == [default_spec.type_id]


def test_batch_archive_removes_every_association_of_the_pair(batch, basic, widget, widgets, contacts):
    _default(batch, widget, widgets[1], contacts[0])
    body = deserialize(batch, {"inputs": [{"from": {"id": widgets[1]}, "to": [{"id": contacts[0]}]}]},
                       "BatchInputPublicAssociationMultiArchive")
    call(batch.archive, widget, "contacts", body, status=204)
    remaining = {str(t.to_object_id) for t in _targets(basic, widget, widgets[1]).results}
    assert contacts[0] not in remaining


def test_unassociable_types_are_400(batch, widget, widgets):
    body = deserialize(batch, {"inputs": [{"from": {"id": widgets[0]}, "to": {"id": "1"}}]},
                       "BatchInputPublicDefaultAssociationMultiPost")
    _, err = api_error(batch.create_default, widget, "tickets", body, status=400)
    assert parse_error(batch, err).category == "VALIDATION_ERROR"


@pytest.mark.parametrize("version", ["2026-03", "2026-09"])
def test_date_versioned_association_paths(hubspot_sim, batch, basic, defs, widget, widgets, contacts, version):
    sim = SimControl(hubspot_sim)
    r = sim.raw("GET", f"/crm/associations/{version}/{widget}/contacts/labels")
    assert r.status_code == 200
    conforms(defs, r.json(), "CollectionResponseAssociationSpecWithLabelNoPaging")
    r = sim.raw("POST", f"/crm/associations/{version}/{widget}/contacts/batch/associate/default",
                {"inputs": [{"from": {"id": widgets[0]}, "to": {"id": contacts[1]}}]})
    assert r.status_code == 200, r.text
    conforms(batch, r.json(), "BatchResponsePublicDefaultAssociation")
    r = sim.raw("POST", f"/crm/associations/{version}/{widget}/contacts/batch/read",
                {"inputs": [{"id": widgets[0]}]})
    assert r.status_code == 200
    conforms(batch, r.json(), "BatchResponsePublicAssociationMultiWithLabel")
    r = sim.raw("GET", f"/crm/objects/{version}/{widget}/{widgets[0]}/associations/contacts",
                params={"limit": "1"})
    assert r.status_code == 200, r.text
    page = conforms(basic, r.json(), "CollectionResponseMultiAssociatedObjectWithLabelForwardPaging")
    assert len(page.results) == 1 and page.paging.next.after


def _default(batch, widget, wid, cid):
    body = deserialize(batch, {"inputs": [{"from": {"id": wid}, "to": {"id": cid}}]},
                       "BatchInputPublicDefaultAssociationMultiPost")
    call(batch.create_default, widget, "contacts", body, status=200, model="BatchResponsePublicDefaultAssociation")
