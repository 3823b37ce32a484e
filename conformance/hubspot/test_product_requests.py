"""The requests the product sends to HubSpot, checked against the SDK's request models.

`sfhs demo` runs the whole product on the simulators and writes every request the HubSpot simulator
received (`--hubspot-requests FILE`, one JSON object a line). Each body is deserialized into the SDK
model of its endpoint with client-side validation on (required fields, enums) and, beyond what the
SDK checks, every key must be one the model declares and every value of the declared JSON type:
a misspelt or extra field, or a number where HubSpot's spec says string, fails here too.
"""

import json
import re
import subprocess

import hubspot.crm.associations.v4 as assoc_v4
import hubspot.crm.associations.v4.schema as assoc_v4_schema
import hubspot.crm.objects as objects
import hubspot.crm.properties as properties
import hubspot.crm.schemas as schemas
import pytest

from hs_helpers import sdk, strict
VER = r"(?:v\d|\d{4}-\d{2})"
SEG = r"[^/]+"
# A record type's objects (dated or v3), and the associations between two types (dated or v4).
OBJECTS = rf"/crm/(?:objects/{VER}|{VER}/objects)/{SEG}"
ASSOC = rf"/crm/(?:associations/{VER}|v4/associations)/{SEG}/{SEG}"

# (method, path pattern, package, model) for every endpoint that takes a body.
BODY_MODELS = [
    ("POST", rf"/crm-object-schemas/{VER}/schemas", schemas, "ObjectSchemaEgg"),
    ("POST", rf"/crm/{VER}/schemas", schemas, "ObjectSchemaEgg"),
    ("PATCH", rf"/crm-object-schemas/{VER}/schemas/{SEG}", schemas, "ObjectTypeDefinitionPatch"),
    ("POST", rf"/crm-object-schemas/{VER}/schemas/{SEG}/associations", schemas, "AssociationDefinitionEgg"),
    ("POST", rf"/crm/properties/{VER}/{SEG}", properties, "PropertyCreate"),
    ("POST", rf"/crm/{VER}/properties/{SEG}", properties, "PropertyCreate"),
    ("POST", OBJECTS, objects, "SimplePublicObjectInputForCreate"),
    ("PATCH", OBJECTS + rf"/{SEG}", objects, "SimplePublicObjectInput"),
    ("POST", OBJECTS + "/search", objects, "PublicObjectSearchRequest"),
    ("POST", ASSOC + "/labels", assoc_v4_schema, "PublicAssociationDefinitionCreateRequest"),
]
# The batch endpoints: operation -> model.
OBJECT_BATCHES = {
    "upsert": "BatchInputSimplePublicObjectBatchInputUpsert",
    "create": "BatchInputSimplePublicObjectBatchInputForCreate",
    "update": "BatchInputSimplePublicObjectBatchInput",
    "read": "BatchReadInputSimplePublicObjectId",
    "archive": "BatchInputSimplePublicObjectId",
}
ASSOCIATION_BATCHES = {
    "create": "BatchInputPublicAssociationMultiPost",
    "associate/default": "BatchInputPublicDefaultAssociationMultiPost",
    "archive": "BatchInputPublicAssociationMultiArchive",
    "read": "BatchInputPublicFetchAssociationsBatchRequest",
    "labels/archive": "BatchInputPublicAssociationMultiPost",
}
BODY_MODELS += [("POST", f"{OBJECTS}/batch/{op}", objects, m) for op, m in OBJECT_BATCHES.items()]
BODY_MODELS += [("POST", f"{ASSOC}/batch/{op}", assoc_v4, m) for op, m in ASSOCIATION_BATCHES.items()]

# Endpoints without a body (GET, DELETE).
BODYLESS = [
    ("GET", rf"/crm-object-schemas/{VER}/schemas(?:/{SEG})?"),
    ("GET", rf"/crm/{VER}/schemas(?:/{SEG})?"),
    ("DELETE", rf"/crm-object-schemas/{VER}/schemas/{SEG}"),
    ("GET", rf"/crm/properties/{VER}/{SEG}(?:/{SEG})?"),
    ("GET", rf"/crm/{VER}/properties/{SEG}(?:/{SEG})?"),
    ("GET", OBJECTS + rf"(?:/{SEG})?"),
    ("DELETE", OBJECTS + rf"/{SEG}"),
    ("GET", ASSOC + "/labels"),
    ("GET", rf"/crm/(?:objects/{VER}|v4/objects)/{SEG}/{SEG}/associations/{SEG}"),
]

def check(request, clients):
    """Problems of one recorded request; empty when the SDK accepts it."""
    method, path, body = request["method"], request["path"], request["body"]
    for m, pattern, package, model in BODY_MODELS:
        if m == method and re.fullmatch(pattern, path):
            api_client = clients[package.__name__]
            raw = type("R", (), {"data": json.dumps(body)})()
            try:
                api_client.deserialize(raw, model)
            except (ValueError, TypeError, AttributeError) as e:
                return [f"{model}: {e}"]
            if body is None:
                return [f"{model}: the body is empty or not JSON"]
            return [f"{model}: {p}" for p in strict(package, model, body)]
    for m, pattern in BODYLESS:
        if m == method and re.fullmatch(pattern, path):
            return [] if body is None else ["a body on a request that takes none"]
    return ["no HubSpot endpoint the SDK knows (add it to BODY_MODELS or BODYLESS)"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, sfhs):
    out = tmp_path_factory.mktemp("demo") / "hubspot-requests.jsonl"
    run = subprocess.run(
        [sfhs, "demo", "--invoices", "20", "--hubspot-requests", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def clients():
    """One ApiClient per generated package, validation on (no server is called)."""
    c = sdk("http://127.0.0.1:9")
    apis = {
        objects: c.crm.objects.batch_api,
        schemas: c.crm.schemas.core_api,
        properties: c.crm.properties.core_api,
        assoc_v4: c.crm.associations.v4.batch_api,
        assoc_v4_schema: c.crm.associations.v4.schema.definitions_api,
    }
    for api in apis.values():
        assert api.api_client.configuration.client_side_validation is True
    return {p.__name__: api.api_client for p, api in apis.items()}


@pytest.mark.parametrize(
    "request_,complaint",
    [
        ({"method": "POST", "path": "/crm/objects/2026-09/p1_x/batch/upsert",
          "body": {"inputs": [{"idProperty": "k", "properties": {"a": "1"}}]}}, "`id`"),
        ({"method": "POST", "path": "/crm/objects/2026-09/p1_x/batch/upsert",
          "body": {"inputs": [{"id": 7, "idProperty": "k", "properties": {"a": "1"}}]}}, "expected str"),
        ({"method": "POST", "path": "/crm/associations/2026-09/a/b/batch/associate/default",
          "body": {"inputs": [{"from": {"id": "1"}, "to": {"id": "2"}, "type": 1}]}}, "not a field"),
        ({"method": "POST", "path": "/crm/objects/2026-09/p1_x/search",
          "body": {"filterGroups": [{"filters": [{"propertyName": "a", "operator": "LIKE"}]}]}}, "operator"),
        ({"method": "GET", "path": "/crm/objects/2026-09/p1_x", "body": {"a": 1}}, "a body"),
        ({"method": "PUT", "path": "/crm/objects/2026-09/p1_x", "body": None}, "no HubSpot endpoint"),
    ],
)
def test_the_checker_rejects_bad_requests(clients, request_, complaint):
    problems = check({"query": "", **request_}, clients)
    assert any(complaint in p for p in problems), problems


def test_the_demo_talks_to_hubspot(recorded):
    assert len(recorded) > 0
    assert all(set(r) == {"method", "path", "query", "body"} for r in recorded)


@pytest.mark.parametrize(
    "endpoint",
    ["batch/upsert", "batch/create", "schemas", "batch/associate/default", "search", "batch/read"],
)
def test_the_demo_exercises(recorded, endpoint):
    assert any(r["method"] == "POST" and r["path"].endswith(endpoint) for r in recorded), endpoint


def test_inline_associations_are_sent_somewhere(recorded):
    """Batch creates carry inline associations; they are checked below like every body."""
    creates = [r for r in recorded if r["path"].endswith("/batch/create") and "/objects/" in r["path"]]
    assert any(i.get("associations") for r in creates for i in r["body"]["inputs"])


def test_every_request_body_is_accepted_by_the_sdk(recorded, clients):
    failures = []
    for r in recorded:
        for problem in check(r, clients):
            failures.append(
                f"{r['method']} {r['path']}?{r['query']}: {problem}\n    body: {json.dumps(r['body'])[:300]}"
            )
    assert not failures, "\n".join(failures)


def test_the_association_definition_schema_generate_sends_is_accepted(clients):
    """`sfhs mappings schema-generate --create`'s association between two custom objects (the
    HubSpot client's `create_schema_association` body)."""
    request = {"method": "POST", "path": "/crm-object-schemas/v3/schemas/2-7/associations", "query": "",
               "body": {"fromObjectTypeId": "2-7", "toObjectTypeId": "2-8", "name": "invoice_line_to_invoice"}}
    assert check(request, clients) == []
