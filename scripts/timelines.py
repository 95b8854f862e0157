#!/usr/bin/env python3
"""Prints the timelines a local origin holds, one line per segment, from Miniflare's persisted
state (`make dev`'s .edgepack/state, or a failed e2e run's origin directory): what each rendition
lists, with its numbers (ours/the encoder's), names, upload keys, media start and duration (s)
and arrival (s after the first), and the uploads stored under their arrival time (a reused
name). For reading a failed run; the origin serves the same through its playlists.

usage: scripts/timelines.py [--first N] STATE_DIR [RENDITION ...]
  --first N   one line per rendition: its first N segments and every discontinuity
"""

import glob
import json
import os
import sqlite3
import sys

TIMESCALE = 90_000


def rows(path, query):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(query).fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()


def sqlite_files(state_dir):
    return sorted(glob.glob(os.path.join(state_dir, "**", "*.sqlite"), recursive=True))


def timelines(state_dir):
    """(key, timeline) of every timeline row in the channels' Durable Object storage."""
    found = []
    for path in sqlite_files(state_dir):
        for _name, body in rows(path, "SELECT name, body FROM state_rows"):
            try:
                objects = json.loads(body)
            except ValueError:
                continue
            for key, value in objects.items():
                if key.startswith("idx/") and isinstance(value, dict) and "body" in value:
                    found.append((key, json.loads(value["body"])))
    return sorted(found)


def timed_uploads(state_dir):
    """(key, arrived) of uploads stored under their name and arrival time."""
    found = []
    for path in sqlite_files(state_dir):
        query = "SELECT key, custom_metadata FROM _mf_objects WHERE key LIKE 'seg/%@%'"
        for key, meta in rows(path, query):
            found.append((key, json.loads(meta or "{}").get("arrived")))
    return sorted(found)


def seconds(ticks):
    return "-" if ticks is None else f"{ticks / TIMESCALE:.3f}"


def entry(s, first_ms):
    """seq/encoder's seq, name (and upload key when another), media start +duration, arrival."""
    upload = s["k"].rsplit("/", 1)[-1]
    return (
        f"{s['s']}/{s['e']} {s['u']}{'' if upload == s['u'] else ' upload ' + upload} "
        f"m {seconds(s.get('m'))} +{seconds(s['d'])} a +{(s['a'] - first_ms) / 1000:.3f}"
        + (" DISCONTINUITY" if s.get("x") else "")
    )


def main():
    args = sys.argv[1:]
    brief = None
    if args[:1] == ["--first"] and len(args) > 1:
        brief, args = int(args[1]), args[2:]
    if not args:
        sys.exit(__doc__)
    state_dir, wanted = args[0], args[1:]
    everything = timelines(state_dir)
    first = min((s["a"] for _, t in everything for s in t.get("segments", [])), default=0)
    for key, t in everything:
        if wanted and not any(f"/{r}/" in key for r in wanted):
            continue
        segments = t.get("segments", [])
        head = (
            f"{key}: seq_offset {t.get('seq_offset')}, discontinuity_sequence "
            f"{t.get('discontinuity_sequence')}, {len(segments)} segments"
        )
        if brief is None:
            print(head)
            for s in segments:
                print(f"  {entry(s, first)}")
        else:
            shown = [s for i, s in enumerate(segments) if i < brief or s.get("x")]
            print(f"{head}: " + "; ".join(entry(s, first) for s in shown))
    for key, arrived in timed_uploads(state_dir):
        print(f"upload under its arrival time: {key} (arrived {arrived})")


if __name__ == "__main__":
    main()
