// Plays one local MP4 file with `<video src>` in Debian's Chromium (headless) and prints what
// the browser made of it: the picture sizes it showed, the time played, decoded / dropped /
// corrupted frames and any media error. Run by hand, not part of `make test`; used to check a
// recording across a codec change (docs/timeshift-harvest.md, "Codec changes"):
//
//   EDGEPACK_KEEP_RECORDINGS=/tmp cargo test -p edgepack --test recording -- codec_change
//   cd tests && node bench/play-file.js /tmp/codec-change.mp4
//
// The file is served from 127.0.0.1 with byte ranges, as `/vod/v1` serves recordings.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../e2e/lib/browser.js';

/** Polls of the page, 250 ms apart: a minute of playback at most. */
const MAX_POLLS = 240;

const file = readFileSync(process.argv[2] ?? '');
const server = createServer((req, res) => {
  if (!req.url.startsWith('/file.mp4')) {
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end('<video id=v src="/file.mp4" muted autoplay playsinline></video>');
  }
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const [a, b] = m ? [Number(m[1]), m[2] ? Math.min(Number(m[2]), file.length - 1) : file.length - 1] : [0, file.length - 1];
  const headers = { 'content-type': 'video/mp4', 'accept-ranges': 'bytes', 'content-length': b - a + 1 };
  if (m) headers['content-range'] = `bytes ${a}-${b}/${file.length}`;
  res.writeHead(m ? 206 : 200, headers).end(file.subarray(a, b + 1));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
});
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const sizes = new Set();
  let state;
  for (let i = 0; i < MAX_POLLS; i++) {
    state = await page.evaluate(() => {
      const v = document.getElementById('v');
      const q = v.getVideoPlaybackQuality();
      return {
        currentTime: v.currentTime,
        duration: v.duration,
        ended: v.ended,
        error: v.error && `${v.error.code} ${v.error.message}`,
        size: `${v.videoWidth}x${v.videoHeight}`,
        frames: q.totalVideoFrames,
        dropped: q.droppedVideoFrames,
        corrupted: q.corruptedVideoFrames,
      };
    });
    sizes.add(state.size);
    if (state.ended || state.error) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(JSON.stringify({ sizes: [...sizes], ...state }));
  if (state.error || !state.ended) process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
