"""Error answers through HubSpot's SDK: 401, 403, 404 (route), 423, 429 (rolling, daily) with the
rate-limit headers, 5xx faults; provoked through the simulator's `/_sim/` control API."""

import pytest
from urllib3.util.retry import Retry

from hs_helpers import SimControl, api_error, call, parse_error, sdk, validating

RATE_HEADERS = (
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
)


@pytest.fixture(scope="module")
def sim(hubspot_sim):
    return SimControl(hubspot_sim)


@pytest.fixture(autouse=True)
def clean(sim):
    """Every test starts without faults, with fresh budgets and the default limits."""
    sim.clear_faults()
    sim.config(burst_limit=190, daily_limit=1_000_000, retry_after_on_429=None)
    sim.reset_limits()
    yield
    sim.clear_faults()
    sim.config(burst_limit=190, daily_limit=1_000_000, retry_after_on_429=None)
    sim.reset_limits()


@pytest.fixture(scope="module")
def schemas_api(hubspot_sim):
    return validating(sdk(hubspot_sim).crm.schemas.core_api)


@pytest.fixture(scope="module")
def objects_api(hubspot_sim):
    """Without urllib3's retries, so that every error answer reaches the test."""
    return validating(sdk(hubspot_sim, retry=Retry(total=0)).crm.objects.basic_api)


def test_the_sdk_honours_retry_after_on_503(hubspot_sim, sim):
    api = validating(sdk(hubspot_sim).crm.objects.basic_api)
    sim.fault(kind="service_unavailable", count=1, retry_after_secs=0)
    _list_contacts(api)


def _list_contacts(api, **kw):
    return call(api.get_page, "contacts", status=200,
                model="CollectionResponseSimplePublicObjectWithAssociationsForwardPaging", **kw)


def test_successful_calls_carry_the_rate_limit_headers(sim):
    r = sim.raw("GET", "/crm/v3/objects/contacts")
    assert r.status_code == 200
    for h in RATE_HEADERS:
        assert r.headers[h].isdigit(), h
    assert r.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"


def test_unknown_token_is_401(hubspot_sim):
    api = validating(sdk(hubspot_sim, token="pat-na1-wrong").crm.objects.basic_api)
    _, body = api_error(api.get_page, "contacts", status=401)
    assert parse_error(api, body).category == "INVALID_AUTHENTICATION"


def test_token_without_scopes_is_403(hubspot_sim, sim):
    sim.config(scopeless_tokens=["pat-na1-noscope"])
    api = validating(sdk(hubspot_sim, token="pat-na1-noscope").crm.schemas.core_api)
    _, body = api_error(api.get_all, status=403)
    e = parse_error(api, body)
    assert e.category == "MISSING_SCOPES"
    assert e.errors[0].context["requiredGranularScopes"]


def test_unknown_route_is_404_in_the_error_shape(schemas_api, sim):
    r = sim.raw("GET", "/crm/v3/nothing/here")
    assert r.status_code == 404
    assert parse_error(schemas_api, r.json()).category == "OBJECT_NOT_FOUND"


def test_unknown_date_version_is_404(schemas_api, sim):
    r = sim.raw("GET", "/crm-object-schemas/2019-01/schemas")
    assert r.status_code == 404
    parse_error(schemas_api, r.json())


def test_locked_is_423(objects_api, sim):
    sim.fault(kind="locked", count=1, path_contains="/objects/contacts")
    _, body = api_error(objects_api.get_page, "contacts", status=423)
    assert parse_error(objects_api, body).category == "LOCKED"
    _list_contacts(objects_api)


def test_rolling_window_429_with_rate_limit_headers(objects_api, sim):
    sim.config(burst_limit=3)
    for _ in range(3):
        _list_contacts(objects_api)
    e, body = api_error(objects_api.get_page, "contacts", status=429)
    assert body["status"] == "error" and body["correlationId"]
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert e.headers["X-HubSpot-RateLimit-Max"] == "3"
    assert e.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert e.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert "Retry-After" not in e.headers


def test_rolling_429_retry_after_when_configured(objects_api, sim):
    sim.config(burst_limit=1, retry_after_on_429=2)
    _list_contacts(objects_api)
    e, _ = api_error(objects_api.get_page, "contacts", status=429)
    assert e.headers["Retry-After"] == "2"


def test_daily_429(objects_api, sim):
    sim.exhaust_daily()
    e, body = api_error(objects_api.get_page, "contacts", status=429)
    assert body["policyName"] == "DAILY" and body["errorType"] == "RATE_LIMIT"
    assert e.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_injected_429_fault(objects_api, sim):
    sim.fault(kind="rate_limit", count=1, retry_after_secs=1)
    e, body = api_error(objects_api.get_page, "contacts", status=429)
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert e.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "kind,status",
    [("internal_error", 500), ("bad_gateway", 502), ("service_unavailable", 503),
     ("gateway_timeout", 504), ("migration_in_progress", 477)],
)
def test_server_faults(objects_api, sim, kind, status):
    sim.fault(kind=kind, count=1, retry_after_secs=1)
    _, body = api_error(objects_api.get_page, "contacts", status=status)
    parse_error(objects_api, body)
