"""Helpers of the HubSpot conformance tests: the SDK client with client-side validation on, calls
that check the status code as well as the model, and the simulator's `/_sim/` control API."""

import importlib
import json
import re

import hubspot
import hubspot.crm.associations.v4 as assoc_v4
import hubspot.crm.associations.v4.schema as assoc_v4_schema
import hubspot.crm.objects as objects
import hubspot.crm.properties as properties
import hubspot.crm.schemas as schemas
import pytest
import requests

TOKEN = "pat-na1-sim"

# Each generated package has its own ApiException class.
API_EXCEPTIONS = (
    objects.ApiException,
    schemas.ApiException,
    properties.ApiException,
    assoc_v4.ApiException,
    assoc_v4_schema.ApiException,
)

# The models of HubSpot's documented error body, one per package (the same shape everywhere).
ERROR_MODEL = "Error"


def sdk(url, token=TOKEN, retry=None):
    """The official client, every generated configuration with client_side_validation on.
    `retry` is urllib3's: by default it retries 429/503 answers that carry `Retry-After`."""
    kwargs = {"retry": retry} if retry is not None else {}
    return hubspot.Client.create(
        access_token=token, host=url, client_side_validation=True, **kwargs
    )


def validating(api):
    """Returns `api` after checking its ApiClient really validates models."""
    cfg = api.api_client.configuration
    assert cfg.client_side_validation is True, f"{type(api).__name__} does not validate"
    assert api.api_client.client_side_validation is True
    return api


def api_fixture(pick):
    """A module fixture: the API `pick` chooses of the module's SDK client, checked to validate
    models (`basic = api_fixture(lambda c: c.crm.objects.basic_api)`)."""

    @pytest.fixture(scope="module")
    def api(client):
        return validating(pick(client))

    return api


def call(method, *args, status, model=None, **kwargs):
    """Calls `method` through its `_with_http_info` twin; asserts the HTTP status and that the
    answer deserialized into `model` (the SDK maps an unexpected status to `None`)."""
    api = method.__self__
    info = getattr(api, method.__name__ + "_with_http_info")
    data, got, _headers = info(*args, **kwargs)
    assert got == status, f"{method.__name__}: status {got}, expected {status}"
    if model is None:
        assert data is None
    else:
        assert type(data).__name__ == model, f"{method.__name__} answered {type(data).__name__}"
        raw = json.loads(api.api_client.last_response.data)
        problems = strict(package_of(api), model, raw)
        assert not problems, f"{method.__name__}: " + "; ".join(problems)
    return data


def package_of(api):
    """The generated package of an API object (`hubspot.crm.objects`, ...)."""
    return importlib.import_module(type(api).__module__.rsplit(".api.", 1)[0])


def conforms(api, body, model):
    """`body` deserializes into `model` (validation on) and passes `strict`; returns the model."""
    obj = deserialize(api, body, model)
    problems = strict(package_of(api), model, body)
    assert not problems, "; ".join(problems)
    return obj


def api_error(method, *args, status, **kwargs):
    """Calls `method`, expects an ApiException with `status`; returns (exception, parsed body)."""
    with pytest.raises(API_EXCEPTIONS) as info:
        method(*args, **kwargs)
    e = info.value
    assert e.status == status, f"status {e.status}, expected {status}: {e.body}"
    body = json.loads(e.body) if e.body else None
    return e, body


def parse_error(api, body):
    """Deserializes an error body into the package's `Error` model (HubSpot's documented error
    shape: `category`, `correlationId` and `message` required) with validation on."""
    raw = type("R", (), {"data": json.dumps(body)})()
    return api.api_client.deserialize(raw, ERROR_MODEL)


def deserialize(api, body, model):
    """Deserializes a JSON value into a model of `api`'s package, validation on."""
    raw = type("R", (), {"data": json.dumps(body)})()
    return api.api_client.deserialize(raw, model)


class SimControl:
    """The simulator's `/_sim/` control API and raw HTTP against its paths."""

    def __init__(self, url):
        self.url = url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"

    def raw(self, method, path, body=None, **kwargs):
        return self.http.request(method, self.url + path, json=body, timeout=10, **kwargs)

    def fault(self, **fault):
        r = self.http.post(f"{self.url}/_sim/faults", json=fault, timeout=10)
        assert r.status_code == 204, r.text

    def clear_faults(self):
        self.http.delete(f"{self.url}/_sim/faults", timeout=10).raise_for_status()

    def config(self, **patch):
        r = self.http.patch(f"{self.url}/_sim/config", json=patch, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def reset_limits(self):
        self.http.post(f"{self.url}/_sim/limits/reset", timeout=10).raise_for_status()

    def exhaust_daily(self):
        self.http.post(f"{self.url}/_sim/limits/exhaust-daily", timeout=10).raise_for_status()


def options(*labels):
    """Enumeration options as HubSpot returns them: value the lower-cased label, in order."""
    return [
        {"label": label, "value": label.lower(), "hidden": False, "displayOrder": i}
        for i, label in enumerate(labels)
    ]


WIDGET = {
    "name": "widget",
    "labels": {"singular": "Widget", "plural": "Widgets"},
    "primaryDisplayProperty": "name",
    "secondaryDisplayProperties": ["sf_id"],
    "searchableProperties": ["name", "sf_id"],
    "requiredProperties": ["name"],
    "associatedObjects": ["CONTACT"],
    "properties": [
        {"name": "name", "label": "Name", "type": "string", "fieldType": "text"},
        {
            "name": "sf_id",
            "label": "Salesforce Id",
            "type": "string",
            "fieldType": "text",
            "hasUniqueValue": True,
        },
        {"name": "amount", "label": "Amount", "type": "number", "fieldType": "number"},
        {
            "name": "color",
            "label": "Color",
            "type": "enumeration",
            "fieldType": "select",
            "options": options("Red", "Blue"),
        },
    ],
}


def create_widget_schema(client, name="widget"):
    """Creates the `widget` schema through the SDK; returns the ObjectSchema."""
    api = validating(client.crm.schemas.core_api)
    egg = deserialize(api, {**WIDGET, "name": name}, "ObjectSchemaEgg")
    return call(api.create, egg, status=201, model="ObjectSchema")


# The JSON type of each primitive of the SDK's models (its deserializer casts silently).
JSON_TYPES = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "datetime": str,
    "date": str,
}


def strict(package, klass, value, where="body"):
    """Problems of `value` against the SDK type `klass` that the SDK's own deserializer lets
    through: undeclared keys, and primitives of the wrong JSON type (it casts them)."""
    if value is None:
        return []
    m = re.fullmatch(r"list\[(.*)\]", klass)
    if m:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {json.dumps(value)[:80]}"]
        return [p for i, v in enumerate(value) for p in strict(package, m.group(1), v, f"{where}[{i}]")]
    m = re.fullmatch(r"dict\(str, (.*)\)|dict\[str, (.*)\]", klass)
    if m:
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {json.dumps(value)[:80]}"]
        inner = m.group(1) or m.group(2)
        return [p for k, v in value.items() for p in strict(package, inner, v, f"{where}.{k}")]
    if klass == "object":
        return []
    if klass in JSON_TYPES:
        t = JSON_TYPES[klass]
        ok = isinstance(value, t) and not (klass in ("int", "float") and isinstance(value, bool))
        return [] if ok else [f"{where}: expected {klass}, got {json.dumps(value)}"]
    model = getattr(package.models, klass)
    if not isinstance(value, dict):
        return [f"{where}: expected a {klass} object, got {json.dumps(value)[:80]}"]
    declared = {json_key: attr for attr, json_key in model.attribute_map.items()}
    problems = [f"{where}.{k}: not a field of {klass}" for k in value if k not in declared]
    for k, v in value.items():
        if k in declared:
            problems += strict(package, model.openapi_types[declared[k]], v, f"{where}.{k}")
    return problems
