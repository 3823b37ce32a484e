"""jsforce (npm; an independent JavaScript Salesforce client) against `sfhs sim salesforce`.

`js/run.js` drives jsforce through OAuth (refresh token, username-password, web server flow),
describe, query paging, a CRUD round trip, deleted/updated, Bulk API 2.0 query and errors, and
prints one JSON line per step; this test runs it and checks each step. jsforce is pinned in
js/package-lock.json and installed by scripts/setup-conformance (`npm ci`).
"""

import json
import pathlib
import shutil
import subprocess

import pytest

JS = pathlib.Path(__file__).resolve().parent / "js"


@pytest.fixture(scope="module")
def steps(salesforce_sim_paged, salesforce_refresh_token):
    if shutil.which("node") is None or not (JS / "node_modules" / "jsforce").is_dir():
        pytest.fail("jsforce is not installed: run scripts/setup-conformance")
    done = subprocess.run(
        ["node", str(JS / "run.js"), salesforce_sim_paged, salesforce_refresh_token],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = {}
    for line in done.stdout.splitlines():
        item = json.loads(line)
        out[item.pop("step")] = item
    return out


def ok(steps, name):
    result = steps[name]
    assert "error" not in result, f"{name}: {result}"
    return result


def test_refresh_token_login(steps):
    r = ok(steps, "refresh_token")
    assert r["totalSize"] == 100
    assert r["refreshed"] == 1, "the stale access token was replaced by a refresh-token grant"
    assert r["tokenChanged"] is True


def test_password_login(steps, salesforce_sim_paged):
    r = ok(steps, "password_login")
    assert r["instanceUrl"] == salesforce_sim_paged
    assert r["orgId"].startswith("00D")
    assert r["totalSize"] == 300


def test_web_server_flow_issues_a_refresh_token(steps):
    r = ok(steps, "web_server_flow")
    assert (r["status"], r["state"], r["hasRefreshToken"]) == (302, "st8", True)
    assert set(r["dailyApi"]) == {"Max", "Remaining"}


def test_describe(steps):
    r = ok(steps, "describe")
    assert {"Account", "Invoice__c", "Invoice_Line__c", "acme__Shipment__c"} <= set(r["objects"])
    assert r["name"] == "Invoice__c" and r["fieldCount"] > 10
    assert (r["lookupType"], r["referenceTo"]) == ("reference", ["Account"])


def test_query_paging(steps):
    r = ok(steps, "query_paging")
    assert r["totalSize"] == 600
    assert (r["firstPage"], r["firstDone"], r["secondPage"]) == (200, False, 200)
    assert r["fetched"] == r["distinct"] == 600


def test_crud_deleted_updated(steps):
    r = ok(steps, "crud")
    assert r["created"]["success"] is True and len(r["created"]["id"]) == 18
    assert (r["gotName"], r["gotAccount"]) == ("INV-JS-1", True)
    assert (r["updateSuccess"], r["amount"], r["notes"]) == (True, 8, "from jsforce")
    assert r["deleteSuccess"] is True
    assert r["afterDelete"] in ("NOT_FOUND", "ENTITY_IS_DELETED")
    assert r["created"]["id"] in r["deletedIds"]
    assert r["updatedKeys"] == ["ids", "latestDateCovered"]


def test_bulk2_query(steps):
    r = ok(steps, "bulk2_query")
    assert r["rows"] == r["restCount"] == 600
    assert r["columns"] == ["Id", "Name"]


def test_errors(steps):
    assert steps["bad_soql"].get("errorCode") == "MALFORMED_QUERY", steps["bad_soql"]
    assert steps["not_found"].get("errorCode") == "NOT_FOUND", steps["not_found"]
    bad = steps["bad_refresh_token"]
    assert "error" in bad and bad.get("name") == "invalid_grant", bad
