// Drives a live Vigil with the older convenience client @azure/ai-anomaly-detector@3.0.0-beta.5
// (core-http based). AnomalyDetectorClient always calls
// {endpoint}/anomalydetector/v1.1-preview.1/...: its apiVersion is a constant and the client
// does not forward an apiVersion/endpoint option. The generated AnomalyDetector class exported
// by the same package accepts `endpoint` (a base-URL override), which is how v1.0 is reached.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AnomalyDetectorClient, AnomalyDetector } from "@azure/ai-anomaly-detector";
import { AzureKeyCredential } from "@azure/core-auth";
import {
  VIGIL_URL,
  VIGIL_API_KEY,
  WRONG_KEY,
  dailySeries,
  entireSeries,
  SPIKE_AT,
  lastSpikeSeries,
  LAST_N,
  changePointSeries,
  CP_N,
  assertEntireResult,
  assertPercentMargins,
  assertLastResult,
  assertChangePointResult,
  assertShiftFlagged,
} from "./helpers.mjs";

const T = { timeout: 30_000 };

function client(key = VIGIL_API_KEY) {
  return new AnomalyDetectorClient(VIGIL_URL, new AzureKeyCredential(key), {
    retryOptions: { maxRetries: 0 },
  });
}

/** The generated client with the base URL pinned to v1.0 and the key header added by a policy. */
function v10Client(key = VIGIL_API_KEY) {
  const keyPolicy = {
    create: (next) => ({
      sendRequest: (req) => {
        req.headers.set("Ocp-Apim-Subscription-Key", key);
        return next.sendRequest(req);
      },
    }),
  };
  return new AnomalyDetector(VIGIL_URL, {
    endpoint: "{Endpoint}/anomalydetector/v1.0",
    requestPolicyFactories: (defaults) => [...defaults, keyPolicy],
  });
}

const PREVIEW_PATH = /\/anomalydetector\/v1\.1-preview\.1\/timeseries\//;

/** Runs fn, expects a RestError and returns it. */
async function restError(fn) {
  try {
    const r = await fn();
    assert.fail(`expected a RestError, got a result: ${JSON.stringify(r)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.equal(e.name, "RestError", `expected RestError, got ${e.name}: ${e.message}`);
    return e;
  }
}

describe("@azure/ai-anomaly-detector 3.0.0-beta.5 AnomalyDetectorClient (v1.1-preview.1)", () => {
  it("detectEntireSeries flags the spike", T, async () => {
    const series = entireSeries();
    const r = await client().detectEntireSeries({ series, granularity: "daily" });
    assert.match(r._response.request.url, PREVIEW_PATH);
    assert.equal(r._response.status, 200);
    // v1.1-preview.1 answers may or may not carry severity; not checked here.
    assertEntireResult(r, series, { severity: null });
    assert.equal(r.isAnomaly[SPIKE_AT], true, "the spike must be an anomaly");
    assert.equal(r.isPositiveAnomaly[SPIKE_AT], true, "the spike must be a positive anomaly");
  });

  it("detectEntireSeries with period, sensitivity and customInterval", T, async () => {
    const series = entireSeries();
    const r = await client().detectEntireSeries({
      series,
      granularity: "daily",
      customInterval: 1,
      period: 7,
      sensitivity: 95,
      maxAnomalyRatio: 0.25,
    });
    assertEntireResult(r, series, { severity: null });
    assert.equal(r.period, 7);
    // v1.1-preview.1: 5 % of |expected|, lower boundary clamped at the series minimum.
    assertPercentMargins(r, series, { sensitivity: 95, clampLower: true });
  });

  it("detectLastPoint flags a spiking last point", T, async () => {
    const series = lastSpikeSeries();
    const r = await client().detectLastPoint({ series, granularity: "daily" });
    assert.match(r._response.request.url, PREVIEW_PATH);
    assertLastResult(r, { severity: null });
    assert.equal(r.isAnomaly, true, `last point ${series[LAST_N - 1].value} must be an anomaly`);
    assert.equal(r.isPositiveAnomaly, true);
  });

  it("detectChangePoint finds the level shift", T, async () => {
    const series = changePointSeries();
    const r = await client().detectChangePoint({ series, granularity: "daily", stableTrendWindow: 5, threshold: 0.9 });
    assert.match(r._response.request.url, PREVIEW_PATH);
    assertChangePointResult(r, CP_N);
    assertShiftFlagged(r);
  });

  it("a 5-point series surfaces as RestError 400 InvalidSeries", T, async () => {
    const e = await restError(() => client().detectEntireSeries({ series: dailySeries(5), granularity: "daily" }));
    assert.equal(e.statusCode, 400);
    assert.equal(e.code, "InvalidSeries", `code (message: ${e.message})`);
    assert.equal(e.response?.parsedHeaders?.xMsErrorCode, "InvalidSeries", "x-ms-error-code header");
    assert.ok(e.message && e.message.length > 0);
  });

  it("a wrong key surfaces as RestError 401", T, async () => {
    const e = await restError(() => client(WRONG_KEY).detectLastPoint({ series: lastSpikeSeries(), granularity: "daily" }));
    assert.equal(e.statusCode, 401);
    assert.equal(e.code, "401", "code taken from the wrapped {error:{code}} body");
    assert.match(e.message, /\S/);
  });
});

describe("@azure/ai-anomaly-detector 3.0.0-beta.5 generated AnomalyDetector pinned to v1.0", () => {
  it("detectEntireSeries answers without severity", T, async () => {
    const series = entireSeries();
    const r = await v10Client().detectEntireSeries({ series, granularity: "daily" });
    assert.match(r._response.request.url, /\/anomalydetector\/v1\.0\/timeseries\/entire\/detect$/);
    assertEntireResult(r, series, { severity: false });
    assert.equal(r.isAnomaly[SPIKE_AT], true, "the spike must be an anomaly");
    assertPercentMargins(r, series, { sensitivity: 99 });
  });

  it("detectChangePoint works on v1.0", T, async () => {
    const series = changePointSeries();
    const r = await v10Client().detectChangePoint({ series, granularity: "daily" });
    assertChangePointResult(r, CP_N);
  });

  it("a wrong key surfaces as RestError 401", T, async () => {
    const e = await restError(() => v10Client(WRONG_KEY).detectEntireSeries({ series: entireSeries(), granularity: "daily" }));
    assert.equal(e.statusCode, 401);
    assert.equal(e.code, "401");
  });
});
