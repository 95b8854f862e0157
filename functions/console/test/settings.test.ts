import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULTS, fieldOf, FormError, SETTINGS, toBody, toForm } from "../src/settings";

const endpoint = {
  name: "hls", protocol: "HLS", manifest_name: "manifest", segment_count: 10, segment_duration: 0,
  program_date_time_interval: 0, stream_order: "original", min_video_bitrate: 0, max_video_bitrate: 2147483647,
  audio_separation: true, time_shift_days: 1, hold_back: null, manifest_window: 60, min_buffer_time: 4,
  min_update_period: 2, suggested_presentation_delay: null, ip_allowlist: ["10.0.0.0/8", "2001:db8::/32"],
  ip_blocklist: [], referer_allowlist: [], signing_keys: [{ id: "k1", secret: "0123456789abcdef" }],
  cdn_authorization: { header_name: "x-cdn", secret: "abcdefghijklmnop" },
  encryption: { method: "AES_128", drm_systems: [], key_provider_url: "https://k.example", content_id: "c1", constant_iv: "", key_rotation_interval: 0 },
};

test("an endpoint round-trips through the form", () => {
  const form = toForm(endpoint);
  assert.equal(form.ip_allowlist, "10.0.0.0/8\n2001:db8::/32");
  assert.equal(form.signing_keys, "k1:0123456789abcdef");
  assert.equal(form.hold_back, "");
  assert.equal(form.audio_separation, "true");
  const body = toBody(form, "HLS");
  assert.equal(body.segment_count, 10);
  assert.equal(body.hold_back, null);
  assert.equal(body.audio_separation, true);
  assert.deepEqual(body.ip_allowlist, ["10.0.0.0/8", "2001:db8::/32"]);
  assert.deepEqual(body.signing_keys, [{ id: "k1", secret: "0123456789abcdef" }]);
  assert.deepEqual(body.cdn_authorization, { header_name: "x-cdn", secret: "abcdefghijklmnop" });
  assert.deepEqual(body.encryption, { method: "AES_128", drm_systems: [], key_provider_url: "https://k.example", content_id: "c1", constant_iv: null, key_rotation_interval: 0 });
  // DASH-only settings are not sent for an HLS endpoint.
  assert.equal("manifest_window" in body, false);
});

test("every setting the form sends is a field of the API (or nested in one)", () => {
  const top = new Set(SETTINGS.map((s) => s.field.split(".")[0]));
  for (const f of top) assert.ok(f !== undefined && (f in endpoint || f === "authorization_code"), f);
});

test("numbers that are not numbers go to the API as they were typed", () => {
  const body = toBody({ protocol: "DASH", segment_count: "ten", manifest_window: " 30 ", hold_back: "" }, "DASH");
  assert.equal(body.segment_count, "ten");
  assert.equal(body.manifest_window, 30);
  assert.equal("segment_duration" in body && body.segment_duration !== undefined, false);
  assert.equal(body.encryption, null);
  assert.equal(body.cdn_authorization, null);
});

test("a signing key line without a colon names the field", () => {
  assert.throws(() => toBody({ protocol: "HLS", signing_keys: "k1" }, "HLS"), (e: unknown) => e instanceof FormError && e.field === "signing_keys");
});

test("API field names map to form fields", () => {
  assert.equal(fieldOf("segment_count"), "segment_count");
  assert.equal(fieldOf("encryption.method"), "encryption.method");
  assert.equal(fieldOf("cdn_authorization"), "cdn_authorization.header_name");
  assert.equal(fieldOf("encryption"), "encryption.method");
  assert.equal(fieldOf("name"), "name");
  assert.equal(fieldOf("no_such"), undefined);
  assert.equal(fieldOf(undefined), undefined);
});

test("the new-endpoint form starts from the API's defaults and sends them as numbers", () => {
  const body = toBody(DEFAULTS, "DASH");
  assert.equal(body.segment_count, 10);
  assert.equal(body.max_video_bitrate, 2147483647);
  assert.equal(body.stream_order, "original");
  assert.equal(body.manifest_window, 60);
  assert.equal(body.encryption, null);
  for (const field of Object.keys(DEFAULTS)) assert.ok(SETTINGS.some((s) => s.field === field), field);
});
