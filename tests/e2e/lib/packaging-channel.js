// A group, a channel and a set of endpoints on it, created through the control API.
import assert from 'node:assert/strict';
import { channelPaths, show } from './api.js';
import { tail } from './encoder.js';
import { get, readMaster } from './endpoint.js';
import { readCmafMedia } from './packaging-hls.js';
import { readMpd, representations } from './packaging-mpd.js';
import { waitFor } from './wait.js';

/**
 * Creates `group` (unless it exists: 409), `group`/`channel` (input `protocol`, HLS by default,
 * and any other channel fields in `settings`) and every endpoint in `endpoints` (API bodies).
 * Returns { input: channel input 1, channel: channel JSON, endpoints: { name: endpoint JSON } };
 * throws with the exchange on any other non-2xx.
 */
export async function createChannel(origin, { group, channel, endpoints, protocol = 'HLS', settings = {} }) {
  const paths = channelPaths({ group, channel });
  const g = await origin.api('POST', '/api/v1/groups', { name: group });
  if (![200, 201, 409].includes(g.status)) throw new Error(show(g));
  const c = await origin.api('POST', `${paths.group}/channels`, { ...settings, name: channel, protocol });
  if (c.status !== 201 && c.status !== 200) throw new Error(show(c));
  const created = {};
  for (const body of endpoints) {
    const e = await origin.api('POST', paths.endpoints, body);
    if (e.status !== 201 && e.status !== 200) throw new Error(show(e));
    created[body.name] = e.json;
  }
  return { input: c.json.inputs[0], channel: c.json, endpoints: created };
}

/**
 * Waits (up to `timeoutMs`) until the HLS-CMAF endpoint at `cmafUrl` lists `videoCount`
 * variants and `segments` segments in every rendition, and every representation of the MPD at
 * `dashUrl` lists as many; fails with the tail of the encoder's log and the origin's log file.
 */
export async function waitForCmafAndDash({ cmafUrl, dashUrl, videoCount, segments, timeoutMs, encoder, origin }) {
  const ready = async () => {
    const m = await readMaster(cmafUrl);
    if (m.master.variants.length < videoCount) return false;
    for (const r of m.renditions) {
      if ((await readCmafMedia(r.url)).playlist.segments.length < segments) return false;
    }
    const mpd = await get(dashUrl);
    if (mpd.status !== 200) return false;
    return representations(readMpd(mpd.text)).every(([, r]) => r.segments.length >= segments);
  };
  await waitFor(`${segments} segments in every HLS-CMAF rendition and DASH representation`, ready, { timeoutMs })
    .catch((err) => assert.fail(`${err.message}\nffmpeg log (${encoder.logFile}):\n${tail(encoder.log(), 15)}\norigin log: ${origin.logFile}`));
}
