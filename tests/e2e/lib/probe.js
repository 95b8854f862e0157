// ffprobe as the independent checker of what the origin serves: every frame is decoded.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PROBE_TIMEOUT_MS = 30_000;

async function ffprobe(args) {
  try {
    const { stdout, stderr } = await run('ffprobe', args, {
      timeout: PROBE_TIMEOUT_MS,
      maxBuffer: 16 << 20,
    });
    return { stdout, stderr };
  } catch (err) {
    // Non-zero exit: keep what ffprobe said so the assertion shows it.
    return { stdout: err.stdout ?? '', stderr: `${err.stderr ?? ''}${err.message}` };
  }
}

/**
 * Decodes every frame of `file`. Returns { streams, packets, format, errors }: `streams` from
 * ffprobe's JSON (codec_type, codec_name, width, height, nb_read_frames, ...), `packets` in file
 * order (codec_type, stream_index, pts, flags); `errors` is everything ffprobe printed at level
 * error (decode errors included), '' when clean.
 */
export async function probeFile(file) {
  const { stdout, stderr } = await ffprobe([
    '-v', 'error', '-count_frames', '-show_streams', '-show_packets', '-show_format',
    '-of', 'json', file,
  ]);
  let parsed = {};
  try {
    parsed = JSON.parse(stdout || '{}');
  } catch {
    parsed = {};
  }
  return {
    streams: parsed.streams ?? [],
    packets: parsed.packets ?? [],
    format: parsed.format ?? null,
    errors: stderr.trim(),
  };
}

/** An MPEG-TS segment (bytes) written to `dir` and probed. */
export async function probeTs(bytes, dir, name = 'segment.ts') {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return { file, ...(await probeFile(file)) };
}

/** An fMP4 segment probed with its init segment in front (as a player appends them). */
export async function probeFmp4(init, segment, dir, name = 'segment.mp4') {
  const file = join(dir, name);
  await writeFile(file, Buffer.concat([init, segment]));
  return { file, ...(await probeFile(file)) };
}

/** Whether the first packet of `codecType` in a probe result is a key frame ("K" flag). */
export function firstPacketIsKey(probe, codecType = 'video') {
  const first = probe.packets.find((p) => p.codec_type === codecType);
  return first !== undefined && String(first.flags ?? '').includes('K');
}

/**
 * Probes into `dir` under numbered file names (`probe-001-<what>.<ext>`), so a failing
 * assertion can name the file: { fmp4(init, segment, what), ts(bytes, what, ext = 'ts') }.
 */
export function prober(dir) {
  let n = 0;
  const name = (what, ext) => `probe-${String(++n).padStart(3, '0')}-${what.replace(/[^a-z0-9]+/gi, '_')}.${ext}`;
  return {
    fmp4: (init, segment, what) => probeFmp4(init, segment, dir, name(what, 'mp4')),
    ts: (bytes, what, ext = 'ts') => probeTs(bytes, dir, name(what, ext)),
  };
}
