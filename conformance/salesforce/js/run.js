// jsforce against `sfhs sim salesforce`: node run.js BASE_URL REFRESH_TOKEN
// Each step prints one JSON line {"step": name, ...facts} for ../test_jsforce.py to check; a
// failing step prints {"step": name, "error": ...} and the script goes on.
"use strict";

const jsforce = require("jsforce");

const [base, refreshToken] = process.argv.slice(2);
const CLIENT = { clientId: "sim-client", clientSecret: "sim-secret", redirectUri: "http://localhost/cb" };
const VERSION = "62.0";

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function step(name, fn) {
  try {
    out({ step: name, ...(await fn()) });
  } catch (e) {
    out({ step: name, error: String(e && e.message), errorCode: e && e.errorCode, name: e && e.name });
  }
}

function records(stream) {
  return new Promise((resolve, reject) => {
    const rows = [];
    stream.on("record", (r) => rows.push(r));
    stream.on("error", reject);
    stream.on("end", () => resolve(rows));
  });
}

async function main() {
  const oauth2 = () => new jsforce.OAuth2({ loginUrl: base, ...CLIENT });

  // Refresh token: no access token yet (a stale one), jsforce refreshes on 401 and retries.
  const conn = new jsforce.Connection({
    oauth2: oauth2(),
    instanceUrl: base,
    accessToken: "00D000000000001!AQstale",
    refreshToken,
    version: VERSION,
  });
  let refreshed = 0;
  conn.on("refresh", () => (refreshed += 1));

  await step("refresh_token", async () => {
    const res = await conn.query("SELECT COUNT() FROM Account");
    return { totalSize: res.totalSize, refreshed, tokenChanged: conn.accessToken !== "00D000000000001!AQstale" };
  });

  await step("password_login", async () => {
    const c = new jsforce.Connection({ oauth2: oauth2(), version: VERSION });
    const info = await c.login("sim-user@example.com", "sim-password");
    const res = await c.query("SELECT COUNT() FROM Invoice__c");
    return { instanceUrl: c.instanceUrl, orgId: info.organizationId, totalSize: res.totalSize };
  });

  await step("web_server_flow", async () => {
    const o = oauth2();
    const url = o.getAuthorizationUrl({ state: "st8", scope: "api refresh_token" });
    const resp = await fetch(url, { redirect: "manual" });
    const location = new URL(resp.headers.get("location"));
    const c = new jsforce.Connection({ oauth2: o, version: VERSION });
    await c.authorize(location.searchParams.get("code"));
    const limits = await c.limits();
    return {
      status: resp.status,
      state: location.searchParams.get("state"),
      hasRefreshToken: Boolean(c.refreshToken),
      dailyApi: limits.DailyApiRequests,
    };
  });

  await step("describe", async () => {
    const g = await conn.describeGlobal();
    const d = await conn.sobject("Invoice__c").describe();
    const lookup = d.fields.find((f) => f.name === "Account__c");
    return {
      objects: g.sobjects.map((o) => o.name),
      name: d.name,
      fieldCount: d.fields.length,
      lookupType: lookup.type,
      referenceTo: lookup.referenceTo,
    };
  });

  await step("query_paging", async () => {
    const first = await conn.query("SELECT Id FROM Invoice_Line__c", {
      autoFetch: false,
      headers: { "Sforce-Query-Options": "batchSize=200" },
    });
    const second = await conn.queryMore(first.nextRecordsUrl);
    const all = await conn.query("SELECT Id, Name FROM Invoice_Line__c", {
      autoFetch: true,
      maxFetch: 100000,
      headers: { "Sforce-Query-Options": "batchSize=200" },
    });
    const ids = new Set(all.records.map((r) => r.Id));
    return {
      totalSize: first.totalSize,
      firstPage: first.records.length,
      firstDone: first.done,
      secondPage: second.records.length,
      fetched: all.records.length,
      distinct: ids.size,
    };
  });

  await step("crud", async () => {
    const acc = (await conn.query("SELECT Id FROM Account LIMIT 1")).records[0].Id;
    const inv = conn.sobject("Invoice__c");
    const created = await inv.create({ Name: "INV-JS-1", Account__c: acc, Amount__c: 7.25 });
    const got = await inv.retrieve(created.id);
    const upd = await inv.update({ Id: created.id, Amount__c: 8, Notes__c: "from jsforce" });
    const again = await inv.retrieve(created.id);
    const del = await inv.destroy(created.id);
    let after = null;
    try {
      await inv.retrieve(created.id);
    } catch (e) {
      after = e.errorCode;
    }
    const start = new Date(Date.now() - 5 * 60 * 1000);
    const end = new Date(Date.now() + 60 * 1000);
    const deleted = await inv.deleted(start, end);
    const updated = await conn.sobject("Account").updated(start, end);
    return {
      created,
      gotName: got.Name,
      gotAccount: got.Account__c === acc,
      updateSuccess: upd.success,
      amount: again.Amount__c,
      notes: again.Notes__c,
      deleteSuccess: del.success,
      afterDelete: after,
      deletedIds: deleted.deletedRecords.map((r) => r.id),
      updatedKeys: Object.keys(updated).sort(),
    };
  });

  await step("bulk2_query", async () => {
    const rows = await records(
      await conn.bulk2.query("SELECT Id, Name FROM Invoice_Line__c", { pollInterval: 50, pollTimeout: 20000 })
    );
    const rest = await conn.query("SELECT COUNT() FROM Invoice_Line__c");
    return { rows: rows.length, restCount: rest.totalSize, columns: Object.keys(rows[0] || {}).sort() };
  });

  await step("bad_soql", async () => {
    await conn.query("SELEKT Id FROM Account");
    return {};
  });
  await step("not_found", async () => {
    await conn.sobject("Account").retrieve("001000000000000AAA");
    return {};
  });
  await step("bad_refresh_token", async () => {
    await oauth2().refreshToken("5Aep-never-issued");
    return {};
  });
}

main().catch((e) => {
  out({ step: "main", error: String(e && e.stack) });
  process.exitCode = 1;
});
