// A delaying relay between an encoder and the origin: a network path that adds a fixed delay.
// Each upload is read whole, acknowledged at once (so the encoder keeps its own pace), and
// forwarded unchanged (method, path, Authorization, Content-Type, body) `delayMs` after it
// arrived (or once the path opens, if later), one at a time in arrival order. Every forward's
// answer is recorded, so a test can check that the origin accepted everything; the path can be
// cut after a given upload.
import { createServer } from 'node:http';

/**
 * Starts the relay on 127.0.0.1. Nothing is forwarded before `hold` (a promise) settles: an
 * encoder whose path to the origin comes up later. Returns { url, forwarded, pending,
 * failures, close }.
 */
export async function startRelay({ target, delayMs, hold = Promise.resolve() }) {
  const forwarded = [];
  let chain = hold.catch(() => {});
  let pending = 0;
  let closed = false;
  /** Set by cutAfter(): once a forwarded upload matches, nothing later reaches the origin. */
  let cut = null;
  let isCut = false;

  function forward({ method, path, headers, body, arrivedMs }) {
    pending++;
    chain = chain.then(async () => {
      const wait = arrivedMs + delayMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const entry = { method, path, arrivedMs, sentMs: Date.now(), status: null, dropped: isCut };
      if (!closed && !isCut) {
        try {
          const res = await fetch(target + path, { method, headers, body: body.length > 0 ? body : undefined });
          entry.status = res.status;
          entry.text = res.ok ? '' : (await res.text()).slice(0, 300);
          if (res.ok) await res.arrayBuffer().catch(() => {});
        } catch (err) {
          entry.error = err.message;
        }
      }
      forwarded.push(entry);
      pending--;
      if (!entry.dropped && cut && cut.match(entry)) {
        isCut = true;
        cut.resolve(entry);
      }
    });
  }

  const server = createServer(async (req, res) => {
    const arrivedMs = Date.now();
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const headers = {};
    for (const h of ['authorization', 'content-type']) if (req.headers[h]) headers[h] = req.headers[h];
    forward({ method: req.method, path: req.url, headers, body: Buffer.concat(chunks), arrivedMs });
    res.writeHead(req.method === 'DELETE' ? 204 : 201).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    delayMs,
    forwarded,
    pending: () => pending,
    /** Refused or failed forwards (the origin's 4xx/5xx or a network error). */
    failures: () => forwarded.filter((f) => f.error || (f.status !== null && f.status >= 300)),
    /**
     * After the next forwarded upload that `match`es ({ method, path, status }), the path is
     * cut: later uploads are acknowledged to the encoder but never reach the origin (lost in
     * flight, as when an encoder dies mid-cycle). Resolves with that upload.
     */
    cutAfter(match) {
      return new Promise((resolve) => {
        cut = { match, resolve };
      });
    },
    async close() {
      closed = true;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
