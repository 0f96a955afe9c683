// Drives a live Vigil with the official REST-level client
// @azure-rest/ai-anomaly-detector@1.0.0-beta.1 (API version v1.1, path-based).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import restPkg, { isUnexpected } from "@azure-rest/ai-anomaly-detector";
import { AzureKeyCredential } from "@azure/core-auth";
import {
  VIGIL_URL,
  VIGIL_API_KEY,
  WRONG_KEY,
  toWire,
  dailySeries,
  entireSeries,
  ENTIRE_N,
  SPIKE_AT,
  lastSpikeSeries,
  LAST_N,
  changePointSeries,
  CP_N,
  assertEntireResult,
  assertBandConsistency,
  assertGAMarginStructure,
  assertPercentMargins,
  assertLastResult,
  assertChangePointResult,
  assertShiftFlagged,
} from "./helpers.mjs";

// The package is CommonJS with `exports.default = createClient`.
const AnomalyDetector = restPkg.default ?? restPkg;

/**
 * The client as a user would create it. allowInsecureConnection is needed because Vigil
 * listens on plain http here and current @azure/core-rest-pipeline refuses http:// without it.
 * Retries are off so that a server error shows up as itself, not after three back-offs.
 */
function client(key = VIGIL_API_KEY, options = {}) {
  return AnomalyDetector(VIGIL_URL, new AzureKeyCredential(key), {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
    ...options,
  });
}

const T = { timeout: 30_000 };

function assertOk(res) {
  assert.equal(res.status, "200", `expected 200, got ${res.status}: ${JSON.stringify(res.body)}`);
  assert.equal(isUnexpected(res), false);
  assert.match(String(res.headers["content-type"]), /^application\/json\b/i, "Content-Type must be application/json");
}

function assertServiceError(res, code) {
  assert.equal(res.status, "400", `expected 400, got ${res.status}: ${JSON.stringify(res.body)}`);
  assert.equal(isUnexpected(res), true);
  assert.match(String(res.headers["content-type"]), /^application\/json\b/i, "Content-Type must be application/json");
  assert.equal(typeof res.body, "object", `error body must be JSON, got ${JSON.stringify(res.body)}`);
  assert.equal(res.body.code, code, `body.code (body ${JSON.stringify(res.body)})`);
  assert.equal(typeof res.body.message, "string");
  assert.ok(res.body.message.length > 0, "error message must not be empty");
  assert.equal(res.headers["x-ms-error-code"], code, "x-ms-error-code header");
}

describe("@azure-rest/ai-anomaly-detector 1.0.0-beta.1 (v1.1)", () => {
  describe("entire detect", () => {
    it("returns per-point arrays and flags the spike", T, async () => {
      const series = entireSeries();
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series: toWire(series), granularity: "daily" },
      });
      assertOk(res);
      const r = res.body;
      assertEntireResult(r, series, { severity: true });
      assertBandConsistency(r, series);
      assert.equal(r.isAnomaly[SPIKE_AT], true, "the spike must be an anomaly");
      assert.equal(r.isPositiveAnomaly[SPIKE_AT], true, "the spike must be a positive anomaly");
      assert.equal(r.isNegativeAnomaly[SPIKE_AT], false);
      assert.ok(r.severity[SPIKE_AT] > 0, "the spike must have severity > 0");
      assert.ok(r.upperMargins.length === ENTIRE_N);
    });

    it("auto-detects the weekly period of a daily series", T, async () => {
      const series = entireSeries();
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series: toWire(series), granularity: "daily" },
      });
      assertOk(res);
      assert.equal(res.body.period, 7);
    });

    it("echoes a given period and accepts sensitivity/maxAnomalyRatio", T, async () => {
      const series = entireSeries();
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series: toWire(series), granularity: "daily", period: 7, sensitivity: 95, maxAnomalyRatio: 0.25 },
      });
      assertOk(res);
      assertEntireResult(res.body, series, { severity: true });
      assert.equal(res.body.period, 7);
      assert.equal(res.body.isAnomaly[SPIKE_AT], true, "the spike must be an anomaly at sensitivity 95");
    });

    it("has the v1.1 GA margin structure", T, async () => {
      const series = entireSeries();
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series: toWire(series), granularity: "daily" },
      });
      assertOk(res);
      assertGAMarginStructure(res.body, series);
    });

    it("is deterministic", T, async () => {
      const body = { series: toWire(entireSeries()), granularity: "daily" };
      const a = await client().path("/timeseries/entire/detect").post({ body });
      const b = await client().path("/timeseries/entire/detect").post({ body });
      assertOk(a);
      assertOk(b);
      assert.deepEqual(a.body, b.body);
    });
  });

  describe("last detect", () => {
    it("flags a spiking last point", T, async () => {
      const series = lastSpikeSeries();
      const res = await client().path("/timeseries/last/detect").post({
        body: { series: toWire(series), granularity: "daily" },
      });
      assertOk(res);
      assertLastResult(res.body, { severity: true });
      assert.equal(res.body.isAnomaly, true, `last point ${series[LAST_N - 1].value} must be an anomaly`);
      assert.equal(res.body.isPositiveAnomaly, true);
      assert.equal(res.body.isNegativeAnomaly, false);
    });

    it("answers for an ordinary last point", T, async () => {
      const series = dailySeries(LAST_N, { seed: 5 });
      const res = await client().path("/timeseries/last/detect").post({
        body: { series: toWire(series), granularity: "daily", period: 7 },
      });
      assertOk(res);
      assertLastResult(res.body, { severity: true });
      assert.equal(res.body.period, 7);
      assert.equal(res.body.suggestedWindow, 29);
    });
  });

  describe("change-point detect", () => {
    it("finds the level shift", T, async () => {
      const series = changePointSeries();
      const res = await client().path("/timeseries/changepoint/detect").post({
        body: { series: toWire(series), granularity: "daily", stableTrendWindow: 5, threshold: 0.9 },
      });
      assertOk(res);
      assertChangePointResult(res.body, CP_N);
      assertShiftFlagged(res.body);
    });

    it("accepts a request without granularity (v1.1)", T, async () => {
      const series = changePointSeries();
      const res = await client().path("/timeseries/changepoint/detect").post({
        body: { series: toWire(series) },
      });
      assertOk(res);
      assertChangePointResult(res.body, CP_N);
    });
  });

  describe("request variants", () => {
    it("points without timestamps when granularity is none", T, async () => {
      const series = entireSeries();
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series: series.map((p) => ({ value: p.value })), granularity: "none" },
      });
      assertOk(res);
      assertEntireResult(res.body, series, { severity: true });
    });

    it("5-minute data as granularity minutely + customInterval 5", T, async () => {
      const start = Date.UTC(2024, 2, 1, 8, 0, 0);
      const series = dailySeries(48, { seed: 9 }).map((p, i) => ({
        timestamp: new Date(start + i * 5 * 60_000),
        value: p.value,
      }));
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series: toWire(series), granularity: "minutely", customInterval: 5 },
      });
      assertOk(res);
      assertEntireResult(res.body, series, { severity: true });
    });

    it("a stray api-version query string (client option apiVersion) is ignored", T, async () => {
      // Lower-case `apiVersion` is the core-client option that appends ?api-version=...;
      // the path still says v1.1.
      const series = lastSpikeSeries();
      const res = await client(VIGIL_API_KEY, { apiVersion: "v1.1" }).path("/timeseries/last/detect").post({
        body: { series: toWire(series), granularity: "daily" },
      });
      assert.match(res.request.url, /\/anomalydetector\/v1\.1\/timeseries\/last\/detect\?api-version=v1\.1$/);
      assertOk(res);
      assertLastResult(res.body, { severity: true });
    });
  });

  describe("validation errors", () => {
    it("5 points -> 400 InvalidSeries", T, async () => {
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series: toWire(dailySeries(5)), granularity: "daily" },
      });
      assertServiceError(res, "InvalidSeries");
    });

    it("missing series -> 400 RequiredSeries", T, async () => {
      const res = await client().path("/timeseries/last/detect").post({
        body: { granularity: "daily" },
      });
      assertServiceError(res, "RequiredSeries");
    });

    it("unknown granularity -> 400 InvalidGranularity", T, async () => {
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series: toWire(dailySeries(24)), granularity: "fortnightly" },
      });
      assertServiceError(res, "InvalidGranularity");
    });

    it("duplicated timestamp -> 400 InvalidSeries", T, async () => {
      const series = toWire(dailySeries(24));
      series[10].timestamp = series[9].timestamp;
      const res = await client().path("/timeseries/changepoint/detect").post({
        body: { series, granularity: "daily" },
      });
      assertServiceError(res, "InvalidSeries");
    });

    it("unsorted timestamps -> 400 InvalidSeries", T, async () => {
      const series = toWire(dailySeries(24));
      [series[10], series[11]] = [series[11], series[10]];
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series, granularity: "daily" },
      });
      assertServiceError(res, "InvalidSeries");
    });

    it("timestamp off the daily grid -> 400 InvalidSeries", T, async () => {
      const series = toWire(dailySeries(24));
      series[5].timestamp = "2024-01-06T12:00:00.000Z";
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series, granularity: "daily" },
      });
      assertServiceError(res, "InvalidSeries");
    });

    it("8641 points -> 400 InvalidSeries, 8640 points -> 200", T, async () => {
      const start = Date.UTC(2023, 0, 1);
      const mk = (n) =>
        Array.from({ length: n }, (_, i) => ({
          timestamp: new Date(start + i * 3600_000).toISOString(),
          value: 50 + 10 * Math.sin((2 * Math.PI * i) / 24) + (i % 5),
        }));
      const bad = await client().path("/timeseries/entire/detect").post({
        body: { series: mk(8641), granularity: "hourly" },
      });
      assertServiceError(bad, "InvalidSeries");
      const series = mk(8640);
      const ok = await client().path("/timeseries/entire/detect").post({
        body: { series, granularity: "hourly" },
      });
      assertOk(ok);
      assertEntireResult(ok.body, series, { severity: true });
    });

    it("maxAnomalyRatio 0.6 -> 400 InvalidModelArgument", T, async () => {
      const res = await client().path("/timeseries/entire/detect").post({
        body: { series: toWire(dailySeries(24)), granularity: "daily", maxAnomalyRatio: 0.6 },
      });
      assertServiceError(res, "InvalidModelArgument");
    });

    it("negative period -> 400 InvalidPeriod", T, async () => {
      const res = await client().path("/timeseries/last/detect").post({
        body: { series: toWire(dailySeries(24)), granularity: "daily", period: -1 },
      });
      assertServiceError(res, "InvalidPeriod");
    });
  });

  describe("authentication", () => {
    it("wrong key -> 401 with the wrapped APIM body", T, async () => {
      const res = await client(WRONG_KEY).path("/timeseries/entire/detect").post({
        body: { series: toWire(entireSeries()), granularity: "daily" },
      });
      assert.equal(res.status, "401", `expected 401, got ${res.status}: ${JSON.stringify(res.body)}`);
      assert.equal(isUnexpected(res), true);
      assert.equal(typeof res.body?.error, "object", `body must be {"error":{...}}, got ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "401");
      assert.equal(typeof res.body.error.message, "string");
    });

    it("no key at all -> 401 (plain fetch, no client)", T, async () => {
      const res = await fetch(`${VIGIL_URL}/anomalydetector/v1.1/timeseries/entire/detect`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ series: toWire(entireSeries()), granularity: "daily" }),
      });
      assert.equal(res.status, 401);
      const body = await res.json();
      assert.equal(body?.error?.code, "401", `body ${JSON.stringify(body)}`);
    });
  });

  describe("API version v1.0 via the ApiVersion client option", () => {
    it("entire detect answers without severity", T, async () => {
      const series = entireSeries();
      const res = await client(VIGIL_API_KEY, { ApiVersion: "v1.0" }).path("/timeseries/entire/detect").post({
        body: { series: toWire(series), granularity: "daily" },
      });
      assert.match(res.request.url, /\/anomalydetector\/v1\.0\/timeseries\/entire\/detect$/);
      assertOk(res);
      assertEntireResult(res.body, series, { severity: false });
      assert.equal(res.body.isAnomaly[SPIKE_AT], true, "the spike must be an anomaly in v1.0 too");
      assertPercentMargins(res.body, series, { sensitivity: 99 });
    });

    it("margins are (100 - sensitivity) % of |expected| at sensitivity 95", T, async () => {
      const series = entireSeries();
      const res = await client(VIGIL_API_KEY, { ApiVersion: "v1.0" }).path("/timeseries/entire/detect").post({
        body: { series: toWire(series), granularity: "daily", sensitivity: 95 },
      });
      assertOk(res);
      assertEntireResult(res.body, series, { severity: false });
      assertPercentMargins(res.body, series, { sensitivity: 95 });
    });

    it("last detect answers without severity", T, async () => {
      const series = lastSpikeSeries();
      const res = await client(VIGIL_API_KEY, { ApiVersion: "v1.0" }).path("/timeseries/last/detect").post({
        body: { series: toWire(series), granularity: "daily" },
      });
      assertOk(res);
      assertLastResult(res.body, { severity: false });
    });
  });
});
