"""Custom object schemas and property definitions through HubSpot's SDK (legacy paths), a few
date-versioned paths raw."""

import pytest

from hs_helpers import SimControl, api_error, api_fixture, call, conforms, deserialize, parse_error
from hs_helpers import create_widget_schema, options, validating


schemas_api = api_fixture(lambda client: client.crm.schemas.core_api)
properties_api = api_fixture(lambda client: client.crm.properties.core_api)


def test_create_answers_a_full_object_schema(widget_schema):
    assert widget_schema.object_type_id.startswith("2-")
    assert widget_schema.id == widget_schema.object_type_id[2:]
    assert widget_schema.fully_qualified_name == "p12345678_widget"
    assert widget_schema.labels.singular == "Widget"
    assert widget_schema.required_properties == ["name"]
    assert widget_schema.created_at is not None and widget_schema.updated_at is not None
    names = {p.name for p in widget_schema.properties}
    assert {"name", "sf_id", "amount", "color", "hs_object_id"} <= names
    sf_id = next(p for p in widget_schema.properties if p.name == "sf_id")
    assert sf_id.has_unique_value is True
    assert [a.to_object_type_id for a in widget_schema.associations] == ["0-1"]


def test_get_by_object_type_id_and_fully_qualified_name(schemas_api, widget_schema):
    for key in (widget_schema.object_type_id, widget_schema.fully_qualified_name):
        s = call(schemas_api.get_by_id, key, status=200, model="ObjectSchema")
        assert s.object_type_id == widget_schema.object_type_id


def test_list_holds_the_custom_schemas(schemas_api, widget_schema):
    page = call(schemas_api.get_all, status=200, model="CollectionResponseObjectSchemaNoPaging")
    assert [s.name for s in page.results] == ["widget"]


def test_list_with_archived_false_capitalized(schemas_api, widget_schema):
    page = call(
        schemas_api.get_all,
        archived=False,
        status=200,
        model="CollectionResponseObjectSchemaNoPaging",
    )
    assert len(page.results) == 1


def test_update_answers_the_object_type_definition(schemas_api, widget_schema):
    patch = deserialize(
        schemas_api,
        {"labels": {"singular": "Gadget", "plural": "Gadgets"}, "searchableProperties": ["sf_id"]},
        "ObjectTypeDefinitionPatch",
    )
    d = call(
        schemas_api.update, widget_schema.object_type_id, patch, status=200, model="ObjectTypeDefinition"
    )
    assert d.labels.singular == "Gadget"
    assert d.searchable_properties == ["sf_id"]
    again = call(schemas_api.get_by_id, widget_schema.object_type_id, status=200, model="ObjectSchema")
    assert again.labels.plural == "Gadgets"


def test_create_twice_is_409(client, schemas_api, widget_schema):
    egg = deserialize(schemas_api, {**_egg(), "name": "widget"}, "ObjectSchemaEgg")
    _, body = api_error(schemas_api.create, egg, status=409)
    assert parse_error(schemas_api, body).category == "CONFLICT"


def test_unknown_schema_is_404(schemas_api):
    _, body = api_error(schemas_api.get_by_id, "2-999999", status=404)
    assert parse_error(schemas_api, body).category == "OBJECT_NOT_FOUND"


def test_invalid_schema_name_is_400(schemas_api):
    egg = deserialize(schemas_api, {**_egg(), "name": "1bad name"}, "ObjectSchemaEgg")
    _, body = api_error(schemas_api.create, egg, status=400)
    assert parse_error(schemas_api, body).category == "VALIDATION_ERROR"


def test_delete_answers_204_and_the_schema_is_gone(schemas_api):
    created = call(
        schemas_api.create,
        deserialize(schemas_api, {**_egg(), "name": "doomed"}, "ObjectSchemaEgg"),
        status=201,
        model="ObjectSchema",
    )
    call(schemas_api.archive, created.object_type_id, status=204)
    api_error(schemas_api.get_by_id, created.object_type_id, status=404)


def test_properties_list(properties_api, widget_schema):
    page = call(
        properties_api.get_all,
        widget_schema.object_type_id,
        status=200,
        model="CollectionResponsePropertyNoPaging",
    )
    color = next(p for p in page.results if p.name == "color")
    assert color.type == "enumeration" and color.field_type == "select"
    assert [o.value for o in color.options] == ["red", "blue"]
    assert all(p.group_name for p in page.results)


def test_properties_list_archived_false(properties_api, widget_schema):
    call(
        properties_api.get_all,
        widget_schema.object_type_id,
        archived=False,
        status=200,
        model="CollectionResponsePropertyNoPaging",
    )


def test_property_get_by_name(properties_api, widget_schema):
    p = call(
        properties_api.get_by_name, widget_schema.object_type_id, "sf_id", status=200, model="ModelProperty"
    )
    assert p.has_unique_value is True
    assert p.modification_metadata.archivable is True


def test_property_create_then_get(properties_api, widget_schema):
    body = deserialize(
        properties_api,
        {
            "name": "stage",
            "label": "Stage",
            "type": "enumeration",
            "fieldType": "radio",
            "groupName": "widgetinformation",
            "options": options("Open", "Closed"),
        },
        "PropertyCreate",
    )
    p = call(properties_api.create, widget_schema.object_type_id, body, status=201, model="ModelProperty")
    assert p.name == "stage" and p.group_name == "widgetinformation"
    got = call(
        properties_api.get_by_name, widget_schema.object_type_id, "stage", status=200, model="ModelProperty"
    )
    assert [o.label for o in got.options] == ["Open", "Closed"]


@pytest.mark.parametrize(
    "prop, status, category",
    [
        ({"name": "amount", "type": "number", "fieldType": "number"}, 409, "OBJECT_ALREADY_EXISTS"),
        ({"name": "flag", "type": "bool", "fieldType": "text"}, 400, "VALIDATION_ERROR"),
    ],
    ids=["create_twice_is_409", "invalid_field_type_pair_is_400"],
)
def test_property_create_refused(properties_api, widget_schema, prop, status, category):
    body = deserialize(
        properties_api,
        {**prop, "label": prop["name"].title(), "groupName": "widgetinformation"},
        "PropertyCreate",
    )
    _, err = api_error(properties_api.create, widget_schema.object_type_id, body, status=status)
    assert parse_error(properties_api, err).category == category


def test_unknown_property_is_404(properties_api, widget_schema):
    _, err = api_error(properties_api.get_by_name, widget_schema.object_type_id, "nope", status=404)
    assert parse_error(properties_api, err).category == "OBJECT_NOT_FOUND"


@pytest.mark.parametrize("version", ["2026-03", "2026-09"])
def test_date_versioned_schema_and_property_paths(hubspot_sim, schemas_api, properties_api, widget_schema, version):
    sim = SimControl(hubspot_sim)
    r = sim.raw("GET", f"/crm-object-schemas/{version}/schemas/{widget_schema.object_type_id}")
    assert r.status_code == 200
    assert conforms(schemas_api, r.json(), "ObjectSchema").name == "widget"
    r = sim.raw("GET", f"/crm-object-schemas/{version}/schemas")
    assert r.status_code == 200
    conforms(schemas_api, r.json(), "CollectionResponseObjectSchemaNoPaging")
    r = sim.raw("GET", f"/crm/v3/schemas/{widget_schema.fully_qualified_name}")
    assert r.status_code == 200
    conforms(schemas_api, r.json(), "ObjectSchema")
    r = sim.raw("GET", f"/crm/properties/{version}/{widget_schema.object_type_id}/sf_id")
    assert r.status_code == 200
    assert conforms(properties_api, r.json(), "ModelProperty").has_unique_value is True
    r = sim.raw("GET", f"/crm/properties/{version}/{widget_schema.object_type_id}")
    assert r.status_code == 200
    conforms(properties_api, r.json(), "CollectionResponsePropertyNoPaging")


def _egg():
    return {
        "name": "thing",
        "labels": {"singular": "Thing", "plural": "Things"},
        "requiredProperties": [],
        "associatedObjects": [],
        "properties": [{"name": "title", "label": "Title", "type": "string", "fieldType": "text"}],
    }


def test_an_association_between_two_custom_objects_is_defined_then_used(client, schemas_api):
    """What `sfhs mappings schema-generate --create` does for a lookup between two generated
    objects: `POST /schemas/{objectType}/associations`, then records associated both ways."""
    gizmo = create_widget_schema(client, name="gizmo")
    part = create_widget_schema(client, name="part")
    body = {"fromObjectTypeId": part.object_type_id, "toObjectTypeId": gizmo.object_type_id, "name": "part_to_gizmo"}
    egg = deserialize(schemas_api, body, "AssociationDefinitionEgg")
    d = call(schemas_api.create_association, part.object_type_id, egg, status=201, model="AssociationDefinition")
    assert (d.from_object_type_id, d.to_object_type_id, d.name) == (part.object_type_id, gizmo.object_type_id, "part_to_gizmo")
    assert d.id
    again = call(schemas_api.get_by_id, part.fully_qualified_name, status=200, model="ObjectSchema")
    assert any(a.name == "part_to_gizmo" and a.to_object_type_id == gizmo.object_type_id for a in again.associations)
    _, err = api_error(schemas_api.create_association, part.object_type_id, egg, status=409)
    parse_error(schemas_api, err)
    # Its records can be associated now, both ways.
    labels = validating(client.crm.associations.v4.schema.definitions_api)
    for a, b in ((part, gizmo), (gizmo, part)):
        got = call(labels.get_all, a.object_type_id, b.object_type_id, status=200,
                   model="CollectionResponseAssociationSpecWithLabelNoPaging")
        assert len(got.results) == 1
