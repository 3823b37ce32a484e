"""simple-salesforce (the most used Python Salesforce client) against `sfhs sim salesforce`.

simple-salesforce builds `https://` URLs (from `instance_url`, or `https://{domain}.salesforce.com`
for logins): a requests adapter mounted on its session sends every https request to the
simulator's http address instead, path and query unchanged.
"""

import csv
import datetime
import io
import math
import urllib.parse

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

USERNAME = "sim-user@example.com"
PASSWORD = "sim-password"
CLIENT_ID = "sim-client"
CLIENT_SECRET = "sim-secret"
PAGE = {"Sforce-Query-Options": "batchSize=200"}


class ToSimulator(HTTPAdapter):
    """Rewrites scheme and host of every request to the simulator's; records what was called."""

    def __init__(self, base_url):
        super().__init__()
        self.base = urllib.parse.urlsplit(base_url)
        self.calls = []

    def send(self, request, *args, **kwargs):
        parts = urllib.parse.urlsplit(request.url)
        request.url = urllib.parse.urlunsplit(
            (self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment)
        )
        self.calls.append((request.method, parts.path))
        return super().send(request, *args, **kwargs)


def session_for(url):
    session = requests.Session()
    adapter = ToSimulator(url)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


@pytest.fixture(scope="module")
def sim(salesforce_sim_paged):
    return salesforce_sim_paged


def token_grant(sim, **grant):
    """The token endpoint's JSON answer to a grant, with the connected app's id and secret."""
    data = {**grant, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return requests.post(f"{sim}/services/oauth2/token", data=data, timeout=10).json()


def password_login(session):
    """Logged in with the OAuth username-password flow, as simple-salesforce does it."""
    return Salesforce(
        username=USERNAME,
        password=PASSWORD,
        consumer_key=CLIENT_ID,
        consumer_secret=CLIENT_SECRET,
        session=session,
    )


@pytest.fixture(scope="module")
def sf(sim):
    session, _ = session_for(sim)
    return password_login(session)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


# --- login ---------------------------------------------------------------------------------


def test_username_password_login_calls_the_instance_url(sim):
    session, adapter = session_for(sim)
    sf = password_login(session)
    assert adapter.calls[0] == ("POST", "/services/oauth2/token")
    assert sf.sf_instance == urllib.parse.urlsplit(sim).netloc
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 100


def test_client_credentials_login_with_basic_auth(sim):
    # simple-salesforce sends the client credentials flow's id and secret as HTTP Basic.
    session, _ = session_for(sim)
    sf = Salesforce(
        consumer_key=CLIENT_ID, consumer_secret=CLIENT_SECRET, domain="acme.my", session=session
    )
    assert sf.auth_type == "client-credentials"
    assert sf.query("SELECT COUNT() FROM Invoice__c")["totalSize"] == 300


def test_session_id_and_instance_url(sim):
    token = token_grant(sim, grant_type="client_credentials")
    session, _ = session_for(sim)
    sf = Salesforce(
        instance_url=token["instance_url"], session_id=token["access_token"], session=session
    )
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 100


def test_refresh_token_grant(sim, salesforce_refresh_token):
    body = token_grant(sim, grant_type="refresh_token", refresh_token=salesforce_refresh_token)
    assert "refresh_token" not in body
    session, _ = session_for(sim)
    sf = Salesforce(
        instance_url=body["instance_url"], session_id=body["access_token"], session=session
    )
    assert sf.limits()["DailyApiRequests"]["Max"] > 0


def test_bad_credentials_raise_authentication_failed(sim):
    session, _ = session_for(sim)
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        Salesforce(
            username=USERNAME,
            password="wrong",
            consumer_key=CLIENT_ID,
            consumer_secret=CLIENT_SECRET,
            session=session,
        )
    assert err.value.code == "invalid_grant"
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        Salesforce(
            consumer_key=CLIENT_ID, consumer_secret="nope", domain="acme.my", session=session
        )
    assert err.value.code == "invalid_client"


def test_expired_session_is_renewed_by_logging_in_again(sim):
    session, adapter = session_for(sim)
    sf = password_login(session)
    sf.session_id = "00D000000000001!AQbogus"
    sf.headers["Authorization"] = "Bearer " + sf.session_id
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 100
    logins = [c for c in adapter.calls if c[1] == "/services/oauth2/token"]
    assert len(logins) == 2, "the 401 INVALID_SESSION_ID led to one new login"


def test_bad_token_raises_expired_session(sim):
    session, _ = session_for(sim)
    sf = Salesforce(instance_url=sim, session_id="00D000000000001!AQbogus", session=session)
    with pytest.raises(SalesforceExpiredSession) as err:
        sf.query("SELECT Id FROM Account")
    assert err.value.status == 401
    assert err.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


# --- describe, limits ---------------------------------------------------------------------


def test_describe_global_and_object(sf):
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Account", "Invoice__c", "Invoice_Line__c", "acme__Shipment__c"} <= names
    d = sf.Invoice__c.describe()
    assert d["name"] == "Invoice__c"
    fields = {f["name"]: f for f in d["fields"]}
    assert fields["Account__c"]["type"] == "reference"
    assert fields["Account__c"]["referenceTo"] == ["Account"]
    assert fields["Id"]["type"] == "id"
    assert any(p["value"] for p in fields["Status__c"]["picklistValues"])


def test_sobject_basic_info(sf):
    info = sf.Account.metadata()
    assert info["objectDescribe"]["name"] == "Account"
    assert info["objectDescribe"]["keyPrefix"] == "001"
    recent = info["recentItems"]
    assert recent and all(r["attributes"]["type"] == "Account" and r["Id"] for r in recent)


def test_limits(sf):
    limits = sf.limits()
    for name in ("DailyApiRequests", "DailyBulkV2QueryJobs", "DataStorageMB"):
        assert set(limits[name]) == {"Max", "Remaining"}
    used_before = sf.api_usage["api-usage"].used
    again = sf.limits()
    daily = again["DailyApiRequests"]
    assert daily["Remaining"] == daily["Max"] - (used_before + 1)


# --- query ----------------------------------------------------------------------------------


def test_query_pages_by_next_records_url(sf):
    first = sf.query("SELECT Id, Name FROM Invoice_Line__c", headers=PAGE)
    assert first["totalSize"] == 600
    assert first["done"] is False
    assert len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=PAGE)
    assert len(second["records"]) == 200
    # By locator alone, as simple-salesforce also allows.
    locator = second["nextRecordsUrl"].rsplit("/", 1)[1]
    third = sf.query_more(locator, headers=PAGE)
    assert third["done"] is True and "nextRecordsUrl" not in third
    ids = [r["Id"] for page in (first, second, third) for r in page["records"]]
    assert len(ids) == len(set(ids)) == 600


def test_query_all_and_iter_follow_every_page(sf):
    everything = sf.query_all("SELECT Id, Invoice__c FROM Invoice_Line__c", headers=PAGE)
    assert everything["totalSize"] == len(everything["records"]) == 600
    iterated = list(sf.query_all_iter("SELECT Id FROM Invoice_Line__c", headers=PAGE))
    assert {r["Id"] for r in iterated} == {r["Id"] for r in everything["records"]}
    assert all(r["attributes"]["type"] == "Invoice_Line__c" for r in iterated)


def test_query_with_relationship_and_count(sf):
    rec = sf.query("SELECT Id, Name, Account__r.Name FROM Invoice__c LIMIT 1")["records"][0]
    assert rec["Account__r"]["attributes"]["type"] == "Account"
    soql = f"SELECT Account__c FROM Invoice__c WHERE Id = '{rec['Id']}'"
    account_id = sf.query(soql)["records"][0]["Account__c"]
    assert sf.Account.get(account_id)["Name"] == rec["Account__r"]["Name"]
    assert sf.query("SELECT COUNT() FROM Invoice_Line__c")["totalSize"] == 600


def test_query_all_include_deleted_sees_the_recycle_bin(sf):
    line = sf.query("SELECT Id FROM Invoice_Line__c LIMIT 1")["records"][0]["Id"]
    assert sf.Invoice_Line__c.delete(line) == 204
    soql = f"SELECT Id, IsDeleted FROM Invoice_Line__c WHERE Id = '{line}'"
    assert sf.query_all(soql)["totalSize"] == 0
    deleted = sf.query_all(soql, include_deleted=True)
    assert deleted["totalSize"] == 1
    assert deleted["records"][0]["IsDeleted"] is True


# --- sobject CRUD, deleted, updated -------------------------------------------------------


def test_crud_round_trip(sf):
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    fields = {"Name": "INV-CONF-1", "Account__c": account, "Amount__c": 12.5}
    created = sf.Invoice__c.create(fields)
    assert created["success"] is True and created["errors"] == []
    iid = created["id"]
    assert len(iid) == 18
    got = sf.Invoice__c.get(iid)
    assert got["Id"] == iid
    assert got["Name"] == "INV-CONF-1"
    assert got["Account__c"] == account
    assert got["Amount__c"] == 12.5
    assert got["attributes"]["url"].endswith(f"/sobjects/Invoice__c/{iid}")
    assert sf.Invoice__c.update(iid, {"Amount__c": 99, "Notes__c": "changed"}) == 204
    got = sf.Invoice__c.get(iid)
    assert (got["Amount__c"], got["Notes__c"]) == (99, "changed")
    assert sf.Invoice__c.delete(iid) == 204
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Invoice__c.get(iid)
    assert err.value.content[0]["errorCode"] in ("NOT_FOUND", "ENTITY_IS_DELETED")
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Invoice__c.delete(iid)
    assert err.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_deleted_and_updated_windows(sf):
    start = utc_now() - datetime.timedelta(minutes=5)
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    doomed = sf.Invoice__c.create({"Name": "INV-DOOMED", "Account__c": account})["id"]
    kept = sf.Invoice__c.create({"Name": "INV-KEPT", "Account__c": account})["id"]
    sf.Invoice__c.delete(doomed)
    end = utc_now() + datetime.timedelta(minutes=1)

    deleted = sf.Invoice__c.deleted(start, end)
    assert set(deleted) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    gone = [r["id"] for r in deleted["deletedRecords"]]
    assert doomed in gone and kept not in gone
    assert all(r["deletedDate"].endswith("+0000") for r in deleted["deletedRecords"])
    soql = "SELECT Id FROM Invoice__c WHERE IsDeleted = true"
    assert set(gone) == {r["Id"] for r in sf.query_all(soql, include_deleted=True)["records"]}

    updated = sf.Invoice__c.updated(start, end)
    assert set(updated) == {"ids", "latestDateCovered"}
    assert kept in updated["ids"] and doomed not in updated["ids"]

    # Seeded records were modified 30 days ago, 7 s apart: a window of five of those minutes
    # holds exactly the ids a SOQL filter on SystemModstamp finds.
    seeded_start = (utc_now() - datetime.timedelta(days=30, minutes=-2)).replace(microsecond=0)
    seeded_end = seeded_start + datetime.timedelta(minutes=5)
    ids = set(sf.Account.updated(seeded_start, seeded_end)["ids"])
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    soql = (
        f"SELECT Id FROM Account WHERE SystemModstamp >= {seeded_start.strftime(fmt)}"
        f" AND SystemModstamp < {seeded_end.strftime(fmt)}"
    )
    expected = {r["Id"] for r in sf.query_all(soql)["records"]}
    assert ids == expected and ids


# --- Bulk API 2.0 ---------------------------------------------------------------------------


def rows(csv_pages):
    out = []
    for page in csv_pages:
        out.extend(csv.DictReader(io.StringIO(page)))
    return out


def test_bulk2_query_pages_by_locator(sf):
    soql = "SELECT Id, Name, Quantity__c FROM Invoice_Line__c"
    pages = list(sf.bulk2.Invoice_Line__c.query(soql, max_records=250, wait=0.05))
    rest = sf.query_all("SELECT Id FROM Invoice_Line__c")["records"]
    assert len(rest) > 500
    assert len(pages) == math.ceil(len(rest) / 250), "pages of maxRecords rows, by Sforce-Locator"
    got = rows(pages)
    assert {r["Id"] for r in got} == {r["Id"] for r in rest}
    assert len(got) == len(rest)
    assert set(got[0]) == {"Id", "Name", "Quantity__c"}


def test_bulk2_query_all_includes_deleted(sf):
    soql = "SELECT Id, IsDeleted FROM Invoice_Line__c"
    got = rows(sf.bulk2.Invoice_Line__c.query_all(soql, wait=0.05))
    live = sf.query("SELECT COUNT() FROM Invoice_Line__c")["totalSize"]
    assert sum(r["IsDeleted"] == "true" for r in got) >= 1
    assert sum(r["IsDeleted"] == "false" for r in got) == live


# --- errors ----------------------------------------------------------------------------------


def test_errors_carry_salesforce_error_codes(sf):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELEKT Id FROM Account")
    assert err.value.status == 400
    assert err.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Nope__c FROM Account")
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Id FROM Nope__c")
    assert err.value.content[0]["errorCode"] == "INVALID_TYPE"
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Account.get("001000000000000AAA")
    assert err.value.content[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Nope__c.describe()
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Invoice__c.create({"Amount__c": 1})
    assert err.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert "Name" in err.value.content[0]["fields"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Invoice__c.create({"Name": "x", "Account__c": "001000000000000AAA"})
    assert err.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
