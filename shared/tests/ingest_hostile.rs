//! Bad ingest requests, table-driven, through the core: each gets a clear 4xx or is ignored as
//! the README documents, and what was served before keeps serving byte-identical.

mod common;

use common::*;
use edgepack::store::KvStore;
use serde_json::json;

const MASTER: &str = "/out/v1/demo/live/hls/manifest.m3u8";
const MEDIA: &str = "/out/v1/demo/live/hls/v/index/media.m3u8";
const SEG_DIR: &str = "/out/v1/demo/live/hls/v/index/";
/// After the baseline push (segments 0-3, the last at T0 + 6 s).
const NOW: u64 = T0 + 8_000;

/// Everything a player could fetch: master, rendition playlist, each listed segment.
#[derive(Debug, PartialEq, Eq)]
struct Served {
    master: String,
    media: String,
    segments: Vec<(String, Vec<u8>)>,
}

fn served(o: &TestOrigin, now: u64) -> Served {
    let master = get(o, MASTER, now);
    let media = get(o, MEDIA, now);
    assert_eq!((master.status, media.status), (200, 200));
    let media = text(&media).to_owned();
    // Gap segments (`EXT-X-GAP`) are never loaded by players.
    let mut gap = false;
    let segments = media
        .lines()
        .filter(|l| {
            if *l == "#EXT-X-GAP" {
                gap = true;
            }
            let uri = !l.starts_with('#') && !l.is_empty();
            let load = uri && !gap;
            if uri {
                gap = false;
            }
            load
        })
        .map(|uri| {
            let r = get(o, &format!("{SEG_DIR}{uri}"), now);
            assert_eq!(r.status, 200, "{uri}");
            (uri.to_owned(), r.body)
        })
        .collect();
    Served {
        master: text(&master).to_owned(),
        media,
        segments,
    }
}

/// Every stored key, objects and KV, to show a refused request stored nothing.
fn keys(o: &TestOrigin) -> (Vec<String>, Vec<String>) {
    (o.objects.keys(), block_on(o.kv.list("")).expect("kv list"))
}

/// A live channel with segments 0-3 of rendition `v` on input 1.
fn baseline() -> (TestOrigin, (String, String), Served) {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "v", 4);
    let s = served(&o, NOW);
    assert_eq!(s.segments.len(), 4);
    (o, c, s)
}

fn playlist(first: u64, lines: &[&str]) -> String {
    let mut s = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
    );
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn segments(first: u64, uris: &[&str]) -> String {
    let lines: Vec<String> = uris
        .iter()
        .map(|u| format!("#EXTINF:2.000,\n{u}"))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    playlist(first, &refs)
}

/// A request of a case: path below the input base, body, expected status.
type Step = (String, Vec<u8>, u16);

fn step(path: &str, body: impl Into<Vec<u8>>, status: u16) -> Step {
    (path.to_owned(), body.into(), status)
}

/// Cases that must be refused (4xx) or ignored (2xx) with nothing stored and the output
/// byte-identical. Earlier steps of a case may store what a later step names.
fn refused_or_ignored_cases() -> Vec<(&'static str, Vec<Step>)> {
    let pl = |s: String| s.into_bytes();
    let ten_thousand: Vec<String> = (4..10_004).map(|n| format!("seg{n}.ts")).collect();
    let ten_thousand: Vec<&str> = ten_thousand.iter().map(String::as_str).collect();
    let two_thousand_one: Vec<String> = (4..2_005).map(|n| format!("seg{n}.ts")).collect();
    let two_thousand_one: Vec<&str> = two_thousand_one.iter().map(String::as_str).collect();
    let mut huge = segments(4, &["seg4.ts"]);
    while huge.len() <= 1024 * 1024 {
        huge.push_str("# padding comment line, ignored by parsers but counted in bytes\n");
    }
    vec![
        // Segment bodies.
        ("empty segment body", vec![step("v/seg4.ts", vec![], 400)]),
        (
            "segment shorter than one packet",
            vec![step("v/seg4.ts", ts(1, 4)[..100].to_vec(), 400)],
        ),
        (
            "segment without a sync byte",
            vec![step("v/seg4.ts", vec![0u8; 376], 400)],
        ),
        (
            "truncated segment, then the playlist names it",
            vec![
                step("v/seg4.ts", ts(1, 4)[..100].to_vec(), 400),
                step("v/index.m3u8", pl(segments(2, &["seg2.ts", "seg3.ts", "seg4.ts"])), 200),
            ],
        ),
        // Playlist text.
        (
            "invalid UTF-8 in a playlist",
            vec![step(
                "v/index.m3u8",
                [&b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4\n#EXTINF:2,\nseg\xff\xfe4.ts\n"[..]].concat(),
                400,
            )],
        ),
        (
            "invalid UTF-8 in a tag",
            vec![step("v/index.m3u8", b"#EXTM3U\n#EXT-X-TARGETDURATION:\xc3\x28\n".to_vec(), 400)],
        ),
        (
            "byte order mark before #EXTM3U",
            vec![step("v/index.m3u8", [&b"\xef\xbb\xbf"[..], segments(4, &["seg4.ts"]).as_bytes()].concat(), 400)],
        ),
        ("not a playlist", vec![step("v/index.m3u8", b"<html>".to_vec(), 400)]),
        (
            "playlist without a target duration",
            vec![step("v/index.m3u8", b"#EXTM3U\n#EXTINF:2,\nseg4.ts\n".to_vec(), 400)],
        ),
        (
            "playlist over 1 MiB",
            vec![step("v/index.m3u8", huge.into_bytes(), 413)],
        ),
        // EXTINF.
        ("negative EXTINF", vec![step("v/index.m3u8", pl(playlist(4, &["#EXTINF:-2.0,", "seg4.ts"])), 400)]),
        ("zero EXTINF", vec![step("v/index.m3u8", pl(playlist(4, &["#EXTINF:0,", "seg4.ts"])), 400)]),
        ("EXTINF over an hour", vec![step("v/index.m3u8", pl(playlist(4, &["#EXTINF:3600.5,", "seg4.ts"])), 400)]),
        (
            "EXTINF in exponent notation (RFC 8216bis: digits and `.` only)",
            vec![step(
                "v/index.m3u8",
                pl(playlist(4, &["#EXTINF:1e30,", "seg4.ts"])),
                400,
            )],
        ),
        ("EXTINF 1e39", vec![step("v/index.m3u8", pl(playlist(4, &["#EXTINF:1000000000000000000000000000000000000000,", "seg4.ts"])), 400)]),
        ("EXTINF nan", vec![step("v/index.m3u8", pl(playlist(4, &["#EXTINF:nan,", "seg4.ts"])), 400)]),
        ("EXTINF inf", vec![step("v/index.m3u8", pl(playlist(4, &["#EXTINF:inf,", "seg4.ts"])), 400)]),
        ("EXTINF not a number", vec![step("v/index.m3u8", pl(playlist(4, &["#EXTINF:two,", "seg4.ts"])), 400)]),
        // Size of the segment list.
        (
            "playlist referencing 10,000 segments",
            vec![step("v/index.m3u8", pl(segments(4, &ten_thousand)), 400)],
        ),
        (
            "playlist referencing 2,001 segments",
            vec![step("v/index.m3u8", pl(segments(4, &two_thousand_one)), 400)],
        ),
        (
            "media sequence that overflows",
            vec![
                step("v/seg4.ts", ts(2, 4), 201),
                step("v/index.m3u8", pl(segments(u64::MAX, &["seg4.ts", "seg4.ts"])), 400),
            ],
        ),
        // Sequence numbers.
        (
            "the same playlist again",
            vec![step("v/index.m3u8", pl(media_playlist(0, 4)), 200)],
        ),
        (
            "sequence going backwards over files already committed",
            vec![step("v/index.m3u8", pl(media_playlist(0, 2)), 200)],
        ),
        (
            "an older window after a newer one",
            vec![step("v/index.m3u8", pl(media_playlist(1, 2)), 200)],
        ),
        (
            "newest segment listed but never uploaded",
            vec![step("v/index.m3u8", pl(segments(2, &["seg2.ts", "seg3.ts", "seg4.ts"])), 200)],
        ),
        // URIs inside playlists.
        (
            "absolute segment URI",
            vec![step("v/index.m3u8", pl(segments(4, &["http://evil.example/seg4.ts"])), 400)],
        ),
        (
            "root-relative segment URI (another input)",
            vec![step("v/index.m3u8", pl(segments(4, &["/in/v1/demo/live/2/v/seg0.ts"])), 400)],
        ),
        (
            "segment URI leaving the input",
            vec![step("v/index.m3u8", pl(segments(4, &["../../2/v/seg0.ts"])), 400)],
        ),
        (
            "percent-encoded traversal in a segment URI",
            vec![step("v/index.m3u8", pl(segments(4, &["%2e%2e/%2e%2e/2/v/seg0.ts"])), 400)],
        ),
        (
            "encoded slashes in a segment URI",
            vec![step("v/index.m3u8", pl(segments(4, &["..%2f..%2f2%2fv%2fseg0.ts"])), 400)],
        ),
        (
            "backslash traversal in a segment URI",
            vec![step("v/index.m3u8", pl(segments(4, &["..\\..\\2\\v\\seg0.ts"])), 400)],
        ),
        (
            "byte-range segments",
            vec![
                step("v/seg4.ts", ts(4, 4), 201),
                step("v/index.m3u8", pl(playlist(4, &["#EXT-X-BYTERANGE:376@0", "#EXTINF:2,", "seg4.ts"])), 400),
            ],
        ),
        (
            "master naming a rendition outside the input",
            vec![step(
                "master.m3u8",
                b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n../../2/v/index.m3u8\n".to_vec(),
                400,
            )],
        ),
        // Request paths.
        ("path of 257 bytes", vec![step(&format!("v/{}.ts", "a".repeat(252)), ts(1, 4), 400)]),
        ("path 7 levels deep", vec![step("a/b/c/d/e/f/seg4.ts", ts(1, 4), 400)]),
        ("`..` part", vec![step("../2/v/seg9.ts", ts(1, 4), 400)]),
        ("`..` inside the path", vec![step("v/../../seg9.ts", ts(1, 4), 400)]),
        ("`.` part", vec![step("./v/seg9.ts", ts(1, 4), 400)]),
        ("empty part", vec![step("v//seg9.ts", ts(1, 4), 400)]),
        ("trailing slash", vec![step("v/seg9.ts/", ts(1, 4), 400)]),
        ("percent-encoded `..`", vec![step("%2e%2e/seg9.ts", ts(1, 4), 400)]),
        ("upper-case percent-encoded `../`", vec![step("%2E%2E%2Fseg9.ts", ts(1, 4), 400)]),
        ("percent-encoded `/..`", vec![step("v%2f..%2f..%2fseg9.ts", ts(1, 4), 400)]),
        ("mixed `.%2e`", vec![step(".%2e/seg9.ts", ts(1, 4), 400)]),
        ("double-encoded `..`", vec![step("%252e%252e/seg9.ts", ts(1, 4), 400)]),
        ("encoded NUL", vec![step("seg9.ts%00.m3u8", ts(1, 4), 400)]),
        ("backslashes", vec![step("..\\seg9.ts", ts(1, 4), 400)]),
        ("non-ASCII name", vec![step("s%C3%A9g9.ts", ts(1, 4), 400)]),
        ("other file type", vec![step("v/seg9.mp4", ts(1, 4), 415)]),
        ("no file type", vec![step("v/seg9", ts(1, 4), 415)]),
    ]
}

#[test]
fn refused_or_ignored_requests_leave_the_output_byte_identical() {
    let mut failures = Vec::new();
    for (name, steps) in refused_or_ignored_cases() {
        let (o, c, before) = baseline();
        let mut stored = keys(&o);
        for (i, (path, body, want)) in steps.iter().enumerate() {
            let r = put(&o, 1, &c, path, body, NOW);
            if r.status != *want {
                failures.push(format!(
                    "{name}: step {i} PUT {path} -> {} (want {want}) {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                ));
            }
            if r.status >= 400 {
                assert!(
                    r.header("content-type").is_some_and(|t| t.contains("json")),
                    "{name}"
                );
                let body = text(&r);
                assert!(body.contains("\"error\""), "{name}: {body}");
                assert!(
                    body.len() < 1024,
                    "{name}: error body of {} bytes",
                    body.len()
                );
            }
            if r.status >= 400 || r.status == 200 {
                let now = keys(&o);
                if now != stored {
                    failures.push(format!(
                        "{name}: step {i} answered {} but changed stored keys",
                        r.status
                    ));
                }
            }
            stored = keys(&o);
        }
        let after = served(&o, NOW);
        if after != before {
            failures.push(format!(
                "{name}: output changed\nbefore:\n{}\nafter:\n{}",
                before.media, after.media
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Traversal in the route itself, before the input's path, and without credentials.
#[test]
fn traversal_in_the_route_and_without_credentials() {
    let (o, c, before) = baseline();
    let stored = keys(&o);
    for (path, want) in [
        ("/in/v1/demo/../demo/live/1/v/seg9.ts", 404),
        ("/in/v1/demo/live/%2e%2e/1/v/seg9.ts", 404),
        ("/in/v1/demo/live/1%2f../v/seg9.ts", 404),
        ("/in/v1/demo/live/3/v/seg9.ts", 404),
        ("/in/v1/demo/live/01/v/seg9.ts", 404),
    ] {
        let req = edgepack::Request::new(edgepack::Method::Put, path)
            .with_header("authorization", &basic(&c.0, &c.1))
            .with_body(ts(1, 9));
        assert_eq!(send(&o, req, NOW).status, want, "{path}");
    }
    // Without credentials the answer is 401 whatever the path: nothing about it is told.
    for path in ["../x.ts", "%2e%2e/x.ts", "v/seg9.ts"] {
        let req =
            edgepack::Request::new(edgepack::Method::Put, &format!("/in/v1/demo/live/1/{path}"))
                .with_body(ts(1, 9));
        assert_eq!(send(&o, req, NOW).status, 401, "{path}");
    }
    assert_eq!(keys(&o).0, stored.0);
    assert_eq!(served(&o, NOW), before);
}

/// Accepted as the README documents (restart, resync), and yet every segment URL served
/// before keeps its bytes and the media sequence never goes back.
#[test]
fn accepted_oddities_keep_what_was_served() {
    type Case = (&'static str, Vec<Step>);
    let cases: Vec<Case> = vec![
        (
            "duplicate sequence number: another file claims sequence 3",
            vec![
                step("v/seg3b.ts", ts(2, 0xb3), 201),
                step("v/index.m3u8", segments(3, &["seg3b.ts"]).into_bytes(), 201),
            ],
        ),
        (
            "encoder restart: sequence back to 0 with a re-uploaded seg0.ts",
            vec![
                step("v/seg0.ts", ts(2, 0xa0), 201),
                step("v/index.m3u8", media_playlist(0, 1).into_bytes(), 201),
            ],
        ),
        (
            "a gap: sequence jumps forward",
            vec![
                step("v/seg9.ts", ts(2, 9), 201),
                step("v/index.m3u8", segments(9, &["seg9.ts"]).into_bytes(), 201),
            ],
        ),
        (
            "a segment re-uploaded under a name already served",
            vec![
                step("v/seg3.ts", ts(2, 0xee), 201),
                step("v/seg4.ts", ts(2, 4), 201),
                step("v/index.m3u8", media_playlist(0, 5).into_bytes(), 201),
            ],
        ),
    ];
    for (name, steps) in cases {
        let (o, c, before) = baseline();
        for (path, body, want) in &steps {
            let r = put(&o, 1, &c, path, body, NOW);
            assert_eq!(r.status, *want, "{name}: PUT {path}: {}", text(&r));
        }
        let after = served(&o, NOW + 1_000);
        for (uri, bytes) in &before.segments {
            let r = get(&o, &format!("{SEG_DIR}{uri}"), NOW + 1_000);
            assert_eq!(r.status, 200, "{name}: {uri} no longer served");
            assert_eq!(&r.body, bytes, "{name}: {uri} changed bytes");
        }
        assert!(
            media_sequence(&after.media) >= media_sequence(&before.media),
            "{name}\n{}",
            after.media
        );
        let new: Vec<_> = after
            .segments
            .iter()
            .filter(|s| !before.segments.contains(s))
            .collect();
        assert!(
            !new.is_empty(),
            "{name}: the new segment is served\n{}",
            after.media
        );
    }
}

fn media_sequence(playlist: &str) -> u64 {
    playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Known issues, reported to the lead; run with `cargo test -- --ignored`.
mod reported {
    use super::*;

    /// A TS body that is not a whole number of 188-byte packets was cut off (or is not TS);
    /// served, it ends in a partial packet. The adapter refuses transport-level cut-offs
    /// (Content-Length short, aborted stream); the core can still see one (a client that
    /// declares the short length, a proxy that buffered a broken upload).
    #[test]
    fn segment_cut_off_mid_packet_is_refused() {
        let (o, c, before) = baseline();
        for len in [300, 188 * 2 + 1, 188 * 10 - 1] {
            let body = &ts(10, 4)[..len];
            let r = put(&o, 1, &c, "v/seg4.ts", body, NOW);
            assert_eq!(r.status, 400, "{len} bytes: {}", text(&r));
        }
        put(
            &o,
            1,
            &c,
            "v/index.m3u8",
            segments(2, &["seg2.ts", "seg3.ts", "seg4.ts"]).as_bytes(),
            NOW,
        );
        assert_eq!(served(&o, NOW), before);
    }

    /// README: "`{sequence}` is the origin's own segment number: it increases by one per
    /// segment whatever the encoder's numbering does". A playlist whose EXT-X-MEDIA-SEQUENCE
    /// jumps to near 2^64 moves the output there, and the encoder's next ordinary playlist
    /// (numbers below it) is then ignored: the rendition stops advancing for good.
    #[test]
    fn a_huge_media_sequence_jump_does_not_freeze_the_rendition() {
        let (o, c, before) = baseline();
        assert_eq!(put(&o, 1, &c, "v/seg4.ts", &ts(2, 4), NOW).status, 201);
        put(
            &o,
            1,
            &c,
            "v/index.m3u8",
            segments(u64::MAX, &["seg4.ts"]).as_bytes(),
            NOW,
        );
        let after_jump = served(&o, NOW);
        let seq = media_sequence(&after_jump.media);
        // 2^53: beyond it JavaScript players cannot hold the number exactly.
        assert!(
            seq < 1 << 53,
            "output media sequence {seq}\n{}",
            after_jump.media
        );
        // The encoder goes on normally: its next segment must be served.
        assert_eq!(
            put(&o, 1, &c, "v/seg5.ts", &ts(2, 5), NOW + 2_000).status,
            201
        );
        put(
            &o,
            1,
            &c,
            "v/index.m3u8",
            media_playlist(1, 5).as_bytes(),
            NOW + 2_000,
        );
        let later = served(&o, NOW + 3_000);
        assert!(
            later.segments.iter().any(|(_, b)| b == &ts(2, 5)),
            "seg5 not served:\n{}",
            later.media
        );
        assert!(later.segments.len() > before.segments.len());
    }

    /// Failed logins are counted per exact address. One IPv6 client holds a /64 (2^64
    /// addresses), so it guesses passwords without ever meeting the 429.
    #[test]
    fn failed_logins_are_throttled_per_ipv6_prefix() {
        let (o, c, _) = baseline();
        let statuses: Vec<u16> = (0..=20u16)
            .map(|i| {
                let mut req =
                    edgepack::Request::new(edgepack::Method::Put, "/in/v1/demo/live/1/v/x.ts")
                        .with_header("authorization", &basic(&c.0, "guess"))
                        .with_body(ts(1, 0));
                req.client_ip = format!("2001:db8:0:1::{i:x}").parse().ok();
                send(&o, req, NOW).status
            })
            .collect();
        assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    }
}
