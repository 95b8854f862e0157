#!/usr/bin/env python3
"""Checks every relative Markdown link in README.md and docs/*.md: the target file or directory
must exist in the repository (tracked by git), and a #fragment must name a heading of the target
(GitHub's slug rules). Usage: check_links.py REPO_ROOT"""
import os, re, subprocess, sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
tracked = set(subprocess.run(["git", "-C", root, "ls-files"], capture_output=True, text=True,
                             check=True).stdout.split("\n"))
dirs = {os.path.dirname(p) for p in tracked}
while True:
    more = {os.path.dirname(d) for d in dirs} - dirs
    if not more:
        break
    dirs |= more

def slug(heading):
    h = re.sub(r"`", "", heading.strip().lower())
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")

def anchors(path):
    out, seen, fence = set(), {}, False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            fence = not fence
        if fence:
            continue
        m = re.match(r"#{1,6} (.+)", line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            out.add(s if n == 0 else f"{s}-{n}")
            seen[s] = n + 1
    return out

files = ["README.md"] + sorted(f"docs/{f}" for f in os.listdir(os.path.join(root, "docs"))
                               if f.endswith(".md"))
link = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
bad, count = [], 0
for f in files:
    text = open(os.path.join(root, f), encoding="utf-8").read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # links in code blocks do not count
    for target in link.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        count += 1
        path, _, frag = target.partition("#")
        rel = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        rel = rel.rstrip("/")
        if rel not in tracked and rel not in dirs:
            bad.append(f"{f}: {target}: no such file in the repository")
            continue
        if frag:
            if not rel.endswith(".md"):
                bad.append(f"{f}: {target}: fragment on a non-Markdown file")
            elif frag not in anchors(os.path.join(root, rel)):
                bad.append(f"{f}: {target}: no heading #{frag} in {rel}")
print(f"{count} relative links checked in {len(files)} files")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
