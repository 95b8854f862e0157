// Helper of scripts/dev.sh: waits until the local Worker answers /healthz, creates (or finds)
// the demo group/channel/endpoint through the control API, and prints the ingest URL with its
// credentials, the playback URL and an ffmpeg command that pushes a test stream.
// Usage: node scripts/dev-demo.mjs BASE_URL ADMIN_TOKEN
const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: dev-demo.mjs BASE_URL ADMIN_TOKEN');
  process.exit(2);
}

/** First start includes wrangler's own start-up (and its [build] step): be generous. */
const READY_TIMEOUT_MS = 180_000;
const POLL_MS = 500;
const GROUP = 'demo';
const CHANNEL = 'live';
const ENDPOINT = 'hls';
const parent = process.ppid;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class ApiError extends Error {}

async function waitHealthy() {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (process.ppid !== parent) process.exit(0); // wrangler is gone
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(POLL_MS);
  }
  throw new ApiError(`no answer from ${base}/healthz after ${READY_TIMEOUT_MS / 1000} s`);
}

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, text, json };
}

/** POST the resource; on 409 (it exists) GET it instead. */
async function ensure(collection, body) {
  const created = await api('POST', collection, body);
  if (created.status === 200 || created.status === 201) return created.json;
  if (created.status === 409) {
    const existing = await api('GET', `${collection}/${encodeURIComponent(body.name)}`);
    if (existing.status === 200) return existing.json;
    throw new ApiError(`GET ${collection}/${body.name}: ${existing.status} ${existing.text}`);
  }
  if (created.status === 404) {
    throw new ApiError(
      `POST ${collection}: 404 ${created.text}\n` +
        'The control API is not available in this build of the core (not implemented yet?).',
    );
  }
  if (created.status === 401 || created.status === 403) {
    throw new ApiError(
      `POST ${collection}: ${created.status} ${created.text}\n` +
        'The Worker refused the admin token: check ADMIN_TOKEN and .dev.vars.',
    );
  }
  throw new ApiError(`POST ${collection}: ${created.status} ${created.text}`);
}

function ffmpegCommand(ingestBase, username, password) {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  // As the e2e encoder (docs/testing.md, "End-to-end suites"): two video renditions and an audio group, pushed by PUT with Basic auth.
  return [
    'ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -re -f lavfi -i sine=f=440:r=48000 \\',
    `  -filter_complex '[0:v]split=2[va][vb];[vb]scale=640:360[vbs]' -map '[va]' -map '[vbs]' -map 1:a \\`,
    '  -c:v libx264 -preset veryfast -pix_fmt yuv420p -b:v:0 2500k -b:v:1 800k \\',
    '  -g 60 -keyint_min 60 -sc_threshold 0 -c:a aac -b:a 96k -ac 2 \\',
    '  -f hls -hls_time 2 -hls_list_size 6 -method PUT \\',
    `  -headers "Authorization: Basic ${auth}"$'\\r\\n' \\`,
    `  -master_pl_name master.m3u8 -var_stream_map 'v:0,agroup:aud v:1,agroup:aud a:0,agroup:aud' \\`,
    `  -hls_segment_filename '${ingestBase}stream_%v/seg_%05d.ts' '${ingestBase}stream_%v/index.m3u8'`,
  ].join('\n');
}

async function main() {
  await waitHealthy();
  const groups = '/api/v1/groups';
  await ensure(groups, { name: GROUP });
  const channels = `${groups}/${GROUP}/channels`;
  const channel = await ensure(channels, { name: CHANNEL, protocol: 'HLS' });
  const endpoints = `${channels}/${CHANNEL}/endpoints`;
  // A day of time-shift, so windows, clips and harvest jobs work on the demo channel.
  const endpoint = await ensure(endpoints, { name: ENDPOINT, protocol: 'HLS', time_shift_days: 1 });

  const input = channel?.inputs?.find((i) => i.id === 1);
  if (!input?.url || !input.username || !input.password) {
    throw new ApiError(`channel JSON has no input 1 with url/username/password: ${JSON.stringify(channel)}`);
  }
  if (!endpoint?.url) throw new ApiError(`endpoint JSON has no url: ${JSON.stringify(endpoint)}`);

  console.log(
    [
      '',
      `edgepack is running at ${base} (admin token: ${token})`,
      `  console: ${base}/console/ (sign in with the admin token)`,
      `  control API: curl -H 'Authorization: Bearer ${token}' ${base}${groups}`,
      `  ingest, input 1: ${input.url}`,
      `    username: ${input.username}`,
      `    password: ${input.password}`,
      `  playback: ${endpoint.url}`,
      `  a past window: ${endpoint.url}?start=<ISO 8601 time>&vodend=<ISO 8601 time>`,
      `    as one MP4: ${endpoint.url.replace(/[^/]+$/, 'clip.mp4')}?start=<time>&end=<time>`,
      `    as a VOD asset: POST ${base}${endpoints.replace(/endpoints$/, 'harvest-jobs')} (README: Harvest jobs)`,
      `  statistics (docs/stats.md): curl -H 'Authorization: Bearer ${token}' ${base}${endpoints}/${ENDPOINT}/stats`,
      '',
      'Push a test stream (two video renditions and an audio group):',
      '',
      ffmpegCommand(input.url, input.username, input.password),
      '',
      'Stop with Ctrl-C. State (KV, R2) stays in .edgepack/state.',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  if (process.ppid !== parent) process.exit(0);
  console.error(`\nmake dev: demo setup failed: ${err instanceof ApiError ? err.message : err.stack}\n`);
  process.exit(1);
});
