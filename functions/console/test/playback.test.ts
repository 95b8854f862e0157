import { test } from "node:test";
import assert from "node:assert/strict";
import { bitrateLabel, isoSeconds, playerFor, previewPath, spanLabel, timelineSpan } from "../src/playback";
import { route, href } from "../src/route";
import type { Endpoint } from "../src/types";

const ep = (protocol: Endpoint["protocol"], time_shift_days = 0): Endpoint => ({
  group: "demo", channel: "live", name: "e 1", protocol, manifest_name: "manifest", url: "https://cdn.example/x", time_shift_days,
});

test("each protocol gets its player and manifest", () => {
  assert.equal(playerFor("HLS"), "hls");
  assert.equal(playerFor("HLS_CMAF"), "hls");
  assert.equal(playerFor("DASH"), "dash");
  assert.equal(playerFor("FLV"), "mpegts");
  assert.equal(previewPath(ep("DASH"), { kind: "live" }), "/out/v1/demo/live/e%201/manifest.mpd");
  assert.equal(previewPath(ep("FLV"), { kind: "live" }), "/out/v1/demo/live/e%201/manifest.flv");
});

test("time-shift positions become start or offset", () => {
  assert.equal(previewPath(ep("HLS"), { kind: "offset", seconds: 90.4 }), "/out/v1/demo/live/e%201/manifest.m3u8?offset=90");
  assert.equal(previewPath(ep("HLS"), { kind: "offset", seconds: 0 }), "/out/v1/demo/live/e%201/manifest.m3u8");
  const at = new Date(Date.UTC(2026, 10, 23, 12, 0, 0, 450));
  assert.equal(previewPath(ep("HLS"), { kind: "start", at }, "1.k1.ab"), "/out/v1/demo/live/e%201/manifest.m3u8?start=2026-11-23T12%3A00%3A00Z&token=1.k1.ab");
  assert.equal(isoSeconds(at), "2026-11-23T12:00:00Z");
});

test("the timeline reaches back as far as content is kept", () => {
  assert.equal(timelineSpan(ep("HLS"), 600), 600);
  assert.equal(timelineSpan(ep("HLS", 2), 600), 172_800);
  assert.equal(spanLabel(59), "59 s");
  assert.equal(spanLabel(65), "1 min 05 s");
  assert.equal(spanLabel(3900), "1 h 05 min");
  assert.equal(spanLabel(172_800), "2 d 0 h");
  assert.equal(bitrateLabel(812_345), "812 kbit/s");
  assert.equal(bitrateLabel(2_500_000), "2.50 Mbit/s");
  assert.equal(bitrateLabel(undefined), "–");
});

test("hash routes", () => {
  assert.deepEqual(route(""), { page: "groups" });
  assert.deepEqual(route("#/g/demo"), { page: "group", group: "demo" });
  assert.deepEqual(route("#/g/demo/c/live"), { page: "channel", group: "demo", channel: "live" });
  assert.deepEqual(route("#/g/demo/c/live/status"), { page: "status", group: "demo", channel: "live" });
  assert.deepEqual(route("#/g/demo/c/live/e/new"), { page: "endpoint", group: "demo", channel: "live" });
  assert.deepEqual(route("#/g/demo/c/live/e/hls/preview"), { page: "preview", group: "demo", channel: "live", endpoint: "hls" });
  assert.deepEqual(route("#/g/a%20b/c/%E0%A4"), { page: "channel", group: "a b", channel: "%E0%A4" });
  assert.equal(href("g", "a b"), "#/g/a%20b");
});
