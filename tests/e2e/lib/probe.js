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
 * Decodes every frame of `file`. Returns { streams, errors }: `streams` from ffprobe's JSON
 * (codec_type, codec_name, width, height, nb_read_frames, ...); `errors` is everything ffprobe
 * printed at level error (decode errors included), '' when clean.
 */
export async function probeFile(file) {
  const { stdout, stderr } = await ffprobe([
    '-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file,
  ]);
  let parsed = {};
  try {
    parsed = JSON.parse(stdout || '{}');
  } catch {
    parsed = {};
  }
  return { streams: parsed.streams ?? [], format: parsed.format ?? null, errors: stderr.trim() };
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

/** Whether the first video packet of `file` is a key frame (a segment must start with one). */
export async function firstVideoPacketIsKey(file) {
  const { stdout } = await ffprobe([
    '-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1',
    '-show_entries', 'packet=flags', '-of', 'csv=p=0', file,
  ]);
  // Flags read like "K_" (key) or "__"; csv may append an empty side-data column.
  return stdout.trim().split('\n')[0].split(',')[0].includes('K');
}
