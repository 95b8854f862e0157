// A plain HTTP file server on 127.0.0.1 for the harness self-test: PUT stores a file (after a
// Basic-auth check when `auth` is given), GET serves it with CORS. A stand-in origin with no
// packaging logic, so a player failure against it is the harness's fault.
import { createServer } from 'node:http';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';

const TYPES = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

export function contentType(path) {
  const ext = /\.[a-z0-9]+$/i.exec(path)?.[0] ?? '';
  return TYPES[ext] ?? 'application/octet-stream';
}

function cors(res) {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-allow-headers', '*');
  res.setHeader('access-control-allow-methods', 'GET, HEAD, OPTIONS');
}

/** Starts the server. Returns { url, requests, close }; `requests` lists every request seen. */
export async function startFileServer({ root, auth = null }) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = join(root, normalize(path).replace(/^(\.\.[/\\])+/, ''));
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    requests.push({ method: req.method, path, authorization: req.headers.authorization, bytes: body.length });
    cors(res);
    try {
      if (req.method === 'OPTIONS') {
        res.writeHead(204).end();
      } else if (req.method === 'PUT') {
        if (auth && req.headers.authorization !== auth) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="ingest"' }).end();
          return;
        }
        await mkdir(dirname(file), { recursive: true });
        // Write then rename, so a concurrent GET never sees half a playlist.
        const tmp = `${file}.${process.pid}.${requests.length}.tmp`;
        await writeFile(tmp, body);
        await rename(tmp, file);
        res.writeHead(201).end();
      } else if (req.method === 'GET' || req.method === 'HEAD') {
        const data = await readFile(file);
        res.writeHead(200, { 'content-type': contentType(file), 'cache-control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : data);
      } else {
        res.writeHead(405).end();
      }
    } catch {
      if (!res.headersSent) res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
