// Shared fixtures and assertions for the Vigil compatibility tests.
// Not a test file itself (node --test only picks up *.test.mjs).
import assert from "node:assert/strict";

export const VIGIL_URL = (process.env.VIGIL_URL ?? "").replace(/\/+$/, "");
export const VIGIL_API_KEY = process.env.VIGIL_API_KEY ?? "";

if (!VIGIL_URL || !VIGIL_API_KEY) {
  throw new Error(
    "VIGIL_URL and VIGIL_API_KEY must be set (compat/js/run.sh sets them for a local `vigil serve`).",
  );
}

/** A key that is certainly not the server's. */
export const WRONG_KEY = VIGIL_API_KEY === "0".repeat(32) ? "f".repeat(32) : "0".repeat(32);

// Small deterministic PRNG (LCG) so every run sends byte-identical series.
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const DAY = 24 * 3600 * 1000;
const START = Date.UTC(2024, 0, 1); // 2024-01-01T00:00:00Z, a Monday

/** Weekly shape of a daily business metric (Mon..Sun). */
const WEEK = [100, 104, 110, 108, 102, 86, 82];

/**
 * Daily series with a weekly pattern and +/-1 noise.
 * @param {number} n points
 * @param {{spikeAt?: number, spike?: number, seed?: number}} opts
 * @returns {{timestamp: Date, value: number}[]}
 */
export function dailySeries(n, { spikeAt = -1, spike = 0, seed = 7 } = {}) {
  const rnd = lcg(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    let v = WEEK[i % 7] + Math.round((rnd() * 2 - 1) * 100) / 100;
    if (i === spikeAt) v += spike;
    out.push({ timestamp: new Date(START + i * DAY), value: v });
  }
  return out;
}

/** Daily series with a level shift: ~100 before `at`, ~100+shift from `at` on. */
export function levelShiftSeries(n, at, shift, seed = 11) {
  const rnd = lcg(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const v = 100 + (i >= at ? shift : 0) + Math.round((rnd() * 2 - 1) * 100) / 100;
    out.push({ timestamp: new Date(START + i * DAY), value: v });
  }
  return out;
}

/** Wire form for the REST (RLC) client: timestamps as ISO strings, like a user would build it. */
export const toWire = (series) =>
  series.map((p) => ({ timestamp: p.timestamp.toISOString(), value: p.value }));

// ---- the spike fixture used by the entire-detect tests ----
export const ENTIRE_N = 56; // 8 weeks of daily points
export const SPIKE_AT = 40;
export const entireSeries = () => dailySeries(ENTIRE_N, { spikeAt: SPIKE_AT, spike: 150 });

// ---- last detect: 49 points, the last one a gross spike ----
export const LAST_N = 49;
export const lastSpikeSeries = () => dailySeries(LAST_N, { spikeAt: LAST_N - 1, spike: 200, seed: 3 });

// ---- change point: 60 points, level shift of +60 at index 30 ----
export const CP_N = 60;
export const CP_AT = 30;
export const changePointSeries = () => levelShiftSeries(CP_N, CP_AT, 60);

// ---- assertions on parsed results ----

const isNum = (x) => typeof x === "number" && Number.isFinite(x);

function assertNumArray(arr, n, name) {
  assert.ok(Array.isArray(arr), `${name} must be an array, got ${JSON.stringify(arr)}`);
  assert.equal(arr.length, n, `${name}.length`);
  arr.forEach((x, i) => assert.ok(isNum(x), `${name}[${i}] must be a finite number, got ${JSON.stringify(x)}`));
}

function assertBoolArray(arr, n, name) {
  assert.ok(Array.isArray(arr), `${name} must be an array, got ${JSON.stringify(arr)}`);
  assert.equal(arr.length, n, `${name}.length`);
  arr.forEach((x, i) => assert.equal(typeof x, "boolean", `${name}[${i}] must be a boolean`));
}

/**
 * Checks an entire-detect result against the spec (§2.2, §6.3-4).
 * @param {object} r parsed body
 * @param {{timestamp: Date|string, value: number}[]} series the request series
 * @param {{severity: boolean|null}} opts whether the API version carries severity (null: don't check)
 */
export function assertEntireResult(r, series, { severity }) {
  const n = series.length;
  assert.equal(typeof r, "object");
  assert.ok(Number.isInteger(r.period) && r.period >= 0, `period must be a non-negative integer, got ${r.period}`);
  assertNumArray(r.expectedValues, n, "expectedValues");
  assertNumArray(r.upperMargins, n, "upperMargins");
  assertNumArray(r.lowerMargins, n, "lowerMargins");
  assertBoolArray(r.isAnomaly, n, "isAnomaly");
  assertBoolArray(r.isPositiveAnomaly, n, "isPositiveAnomaly");
  assertBoolArray(r.isNegativeAnomaly, n, "isNegativeAnomaly");
  for (let i = 0; i < n; i++) {
    assert.ok(r.upperMargins[i] >= 0 && r.lowerMargins[i] >= 0, `margins at ${i} must be >= 0`);
    assert.equal(
      r.isAnomaly[i],
      r.isPositiveAnomaly[i] || r.isNegativeAnomaly[i],
      `isAnomaly[${i}] must equal isPositiveAnomaly||isNegativeAnomaly`,
    );
    assert.ok(!(r.isPositiveAnomaly[i] && r.isNegativeAnomaly[i]), `point ${i} cannot be both positive and negative`);
    const v = series[i].value;
    const e = r.expectedValues[i];
    if (r.isPositiveAnomaly[i]) assert.ok(v > e, `positive anomaly at ${i} needs value ${v} > expected ${e}`);
    if (r.isNegativeAnomaly[i]) assert.ok(v < e, `negative anomaly at ${i} needs value ${v} < expected ${e}`);
  }
  if (severity === true) {
    assertNumArray(r.severity, n, "severity");
    for (let i = 0; i < n; i++) {
      assert.ok(r.severity[i] >= 0 && r.severity[i] <= 1, `severity[${i}]=${r.severity[i]} must be in [0,1]`);
      if (!r.isAnomaly[i]) assert.equal(r.severity[i], 0, `severity[${i}] must be 0 for a normal point`);
      else assert.ok(r.severity[i] > 0, `severity[${i}] must be > 0 for an anomaly`);
    }
  } else if (severity === false) {
    assert.equal(r.severity, undefined, "this API version must not return severity");
  }
}

/** Band consistency of v1.1 GA (§6.3): normal points inside [e-lower, e+upper], anomalies outside. */
export function assertBandConsistency(r, series) {
  const eps = 1e-9;
  for (let i = 0; i < series.length; i++) {
    const v = series[i].value;
    const lo = r.expectedValues[i] - r.lowerMargins[i];
    const hi = r.expectedValues[i] + r.upperMargins[i];
    if (r.isAnomaly[i]) {
      assert.ok(v > hi - eps || v < lo + eps, `anomaly at ${i}: value ${v} must lie outside [${lo}, ${hi}]`);
    } else {
      assert.ok(v >= lo - eps && v <= hi + eps, `normal point ${i}: value ${v} must lie inside [${lo}, ${hi}]`);
    }
  }
}

/** Checks a last-detect result (§2.3, §6.7). */
export function assertLastResult(r, { severity }) {
  assert.equal(typeof r, "object");
  assert.ok(Number.isInteger(r.period) && r.period >= 0, `period must be a non-negative integer, got ${r.period}`);
  assert.ok(Number.isInteger(r.suggestedWindow), `suggestedWindow must be an integer, got ${r.suggestedWindow}`);
  assert.equal(r.suggestedWindow, r.period === 0 ? 13 : 4 * r.period + 1, "suggestedWindow = 4*period+1 (13 when period is 0)");
  for (const k of ["expectedValue", "upperMargin", "lowerMargin"]) {
    assert.ok(isNum(r[k]), `${k} must be a finite number, got ${r[k]}`);
  }
  assert.ok(r.upperMargin >= 0 && r.lowerMargin >= 0, "margins must be >= 0");
  for (const k of ["isAnomaly", "isPositiveAnomaly", "isNegativeAnomaly"]) {
    assert.equal(typeof r[k], "boolean", `${k} must be a boolean`);
  }
  assert.equal(r.isAnomaly, r.isPositiveAnomaly || r.isNegativeAnomaly, "isAnomaly == isPositiveAnomaly||isNegativeAnomaly");
  if (severity === true) {
    assert.ok(isNum(r.severity) && r.severity >= 0 && r.severity <= 1, `severity must be a number in [0,1], got ${r.severity}`);
    if (r.isAnomaly) assert.ok(r.severity > 0, "an anomalous last point must have severity > 0");
  } else if (severity === false) {
    assert.equal(r.severity, undefined, "this API version must not return severity");
  }
}

/** Checks a change-point result (§2.4). */
export function assertChangePointResult(r, n) {
  assert.equal(typeof r, "object");
  assert.ok(Number.isInteger(r.period) && r.period >= 0, `period must be a non-negative integer, got ${r.period}`);
  assertBoolArray(r.isChangePoint, n, "isChangePoint");
  assertNumArray(r.confidenceScores, n, "confidenceScores");
  r.confidenceScores.forEach((c, i) => assert.ok(c >= 0 && c <= 1, `confidenceScores[${i}]=${c} must be in [0,1]`));
}

/** The level shift must be reported within +/-2 points of where it happened. */
export function assertShiftFlagged(r) {
  const flagged = r.isChangePoint.map((b, i) => (b ? i : -1)).filter((i) => i >= 0);
  assert.ok(
    flagged.some((i) => Math.abs(i - CP_AT) <= 2),
    `expected a change point near index ${CP_AT}, got ${JSON.stringify(flagged)}`,
  );
}

const close = (a, b, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * v1.0 and v1.1-preview.1 margins (§6.2): exactly (100 - sensitivity) % of |expected|, symmetric;
 * v1.1-preview.1 additionally clamps the lower boundary at the series minimum.
 */
export function assertPercentMargins(r, series, { sensitivity = 99, clampLower = false } = {}) {
  const f = (100 - sensitivity) / 100;
  const min = Math.min(...series.map((p) => p.value));
  for (let i = 0; i < series.length; i++) {
    const e = r.expectedValues[i];
    const m = f * Math.abs(e);
    assert.ok(close(r.upperMargins[i], m), `upperMargins[${i}]=${r.upperMargins[i]}, want ${m} (${100 - sensitivity}% of |${e}|)`);
    // (never negative: an expected value below the series minimum gets a zero lower margin)
    const lo = clampLower ? Math.max(0, Math.min(m, e - min)) : m;
    assert.ok(close(r.lowerMargins[i], lo), `lowerMargins[${i}]=${r.lowerMargins[i]}, want ${lo}`);
  }
}

/**
 * v1.1 GA margin structure (§6.3): anomalies have upper == lower; for every other point the margin on
 * the side where the value lies is the larger one and the opposite margin is exactly a third of it
 * (a value equal to the expected one counts as the lower side).
 */
export function assertGAMarginStructure(r, series) {
  for (let i = 0; i < series.length; i++) {
    const v = series[i].value;
    const e = r.expectedValues[i];
    const up = r.upperMargins[i];
    const lo = r.lowerMargins[i];
    if (r.isAnomaly[i]) {
      assert.ok(close(up, lo), `anomaly ${i}: upperMargin ${up} must equal lowerMargin ${lo}`);
      continue;
    }
    const [near, far] = v > e ? [up, lo] : [lo, up];
    assert.ok(close(far, near / 3), `point ${i} (v=${v}, e=${e}): opposite margin ${far} must be a third of ${near}`);
  }
}
