// A group, a channel and a set of endpoints on it, created through the control API.
import { channelPaths, show } from './api.js';

/**
 * Creates `group`/`channel` (input `protocol`, HLS by default) and every endpoint in
 * `endpoints` (API bodies). Returns
 * { input: channel input 1, channel: channel JSON, endpoints: { name: endpoint JSON } }; throws
 * with the exchange on any non-2xx.
 */
export async function createChannel(origin, { group, channel, endpoints, protocol = 'HLS' }) {
  const paths = channelPaths({ group, channel });
  const g = await origin.api('POST', '/api/v1/groups', { name: group });
  if (g.status !== 201 && g.status !== 200) throw new Error(show(g));
  const c = await origin.api('POST', `${paths.group}/channels`, { name: channel, protocol });
  if (c.status !== 201 && c.status !== 200) throw new Error(show(c));
  const created = {};
  for (const body of endpoints) {
    const e = await origin.api('POST', paths.endpoints, body);
    if (e.status !== 201 && e.status !== 200) throw new Error(show(e));
    created[body.name] = e.json;
  }
  return { input: c.json.inputs[0], channel: c.json, endpoints: created };
}
