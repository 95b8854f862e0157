//! Test harness: the core over in-memory stores, driven without an async runtime.
#![allow(dead_code)]

pub mod speke;

pub use edgepack::testing::block_on;
use edgepack::testing::{memory_origin, MemoryOrigin};
use edgepack::{Method, Request, Response};
use serde_json::Value;

pub const TOKEN: &str = "test-admin-token";
/// 2026-11-23T12:00:00Z
pub const T0: u64 = 1_795_435_200_000;

pub type TestOrigin = MemoryOrigin;

pub fn origin() -> TestOrigin {
    memory_origin(TOKEN)
}

pub fn send(o: &TestOrigin, req: Request, now_ms: u64) -> Response {
    block_on(o.handle(req, now_ms))
}

/// The whole answer: a streamed body's chunks joined (clips, long `/vod/v1` files).
pub fn send_all(o: &TestOrigin, req: Request, now_ms: u64) -> Response {
    let (mut r, stream) = block_on(o.handle_stream(req, now_ms));
    if let Some(mut s) = stream {
        while let Some(chunk) = block_on(o.next_chunk(&mut s, now_ms)) {
            r.body.extend_from_slice(&chunk);
        }
    }
    r
}

pub fn api(o: &TestOrigin, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req =
        Request::new(method, path).with_header("authorization", &format!("Bearer {TOKEN}"));
    if let Some(b) = body {
        req = req.with_body(b.to_string());
    }
    let r = send(o, req, T0);
    let v = if r.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&r.body).expect("API answers JSON")
    };
    (r.status, v)
}

/// `text` without the storage-id directories (`~{id}/`, and `~{id}@{bucket}/` in time-shifted
/// playlists) the origin writes in segment URLs: segment names as a test that numbers them
/// reads them (the old URLs are served too).
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('~') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let id = after.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let bucket = match after.as_bytes().get(id) {
            Some(b'@') => {
                1 + after[id + 1..]
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count()
            }
            _ => 0,
        };
        if id > 0 && bucket != 1 && after.as_bytes().get(id + bucket) == Some(&b'/') {
            rest = &after[id + bucket + 1..];
        } else {
            out.push('~');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

pub fn text(r: &Response) -> &str {
    std::str::from_utf8(&r.body).expect("UTF-8 body")
}

/// A channel `demo/live` with endpoint `hls`; returns input 1's (user, password).
pub fn setup(o: &TestOrigin, endpoint: Value) -> (String, String) {
    assert_eq!(
        api(
            o,
            Method::Post,
            "/api/v1/groups",
            Some(serde_json::json!({"name": "demo"}))
        )
        .0,
        201
    );
    let (s, ch) = api(
        o,
        Method::Post,
        "/api/v1/groups/demo/channels",
        Some(serde_json::json!({"name": "live", "protocol": "HLS"})),
    );
    assert_eq!(s, 201, "{ch}");
    let (s, ep) = api(
        o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/endpoints",
        Some(endpoint),
    );
    assert_eq!(s, 201, "{ep}");
    credentials(&ch, 1)
}

/// A channel `demo/live` taking input `protocol`, with `endpoints`; returns the channel.
pub fn channel_with_endpoints(o: &TestOrigin, protocol: &str, endpoints: &[Value]) -> Value {
    let group = serde_json::json!({"name": "demo"});
    assert_eq!(api(o, Method::Post, "/api/v1/groups", Some(group)).0, 201);
    let (s, ch) = api(
        o,
        Method::Post,
        "/api/v1/groups/demo/channels",
        Some(serde_json::json!({"name": "live", "protocol": protocol})),
    );
    assert_eq!(s, 201, "{ch}");
    assert_eq!(ch["protocol"], protocol);
    for body in endpoints {
        let path = "/api/v1/groups/demo/channels/live/endpoints";
        let (s, v) = api(o, Method::Post, path, Some(body.clone()));
        assert_eq!(s, 201, "{v}");
    }
    ch
}

pub fn credentials(channel: &Value, input: usize) -> (String, String) {
    let i = &channel["inputs"][input - 1];
    (
        i["username"].as_str().unwrap().into(),
        i["password"].as_str().unwrap().into(),
    )
}

pub fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// PUT of an encoder file to `demo/live` input `input`.
pub fn put(
    o: &TestOrigin,
    input: u8,
    creds: &(String, String),
    path: &str,
    body: &[u8],
    now_ms: u64,
) -> Response {
    let req = Request::new(Method::Put, &format!("/in/v1/demo/live/{input}/{path}"))
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(body.to_vec());
    send(o, req, now_ms)
}

pub fn get(o: &TestOrigin, path: &str, now_ms: u64) -> Response {
    send(o, Request::new(Method::Get, path), now_ms)
}

/// A fake TS segment: `n` null packets with a recognisable payload byte.
pub fn ts(n: usize, tag: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * 188);
    for _ in 0..n {
        let mut p = [tag; 188];
        p[..4].copy_from_slice(&[0x47, 0x1f, 0xff, 0x10]);
        v.extend_from_slice(&p);
    }
    v
}

/// An ffmpeg-style live media playlist with 2-second segments `seg{n}.ts`.
pub fn media_playlist(first: u64, count: u64) -> String {
    let mut s = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
    );
    for n in first..first + count {
        s.push_str(&format!("#EXTINF:2.000000,\nseg{n}.ts\n"));
    }
    s
}

/// The bytes of a real ffmpeg segment in `tests/fixtures/media`.
pub fn fixture(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media");
    std::fs::read(dir.join(name)).unwrap()
}

/// ffprobe over `bytes` (on stdin), decoding every frame: its JSON for `entries`
/// (`-show_entries`). The run must be clean: exit 0 and nothing on stderr.
pub fn ffprobe_frames(bytes: &[u8], entries: &str) -> Value {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries", entries])
        .args(["-of", "json", "-i", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffprobe is installed (apt-get install ffmpeg)");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// ffprobe of `file` written to a temporary `.{ext}` file (an MP4 with its index at the end
/// needs a seekable input), with `args` and JSON output. The run must be clean: exit 0 and
/// nothing on stderr.
pub fn ffprobe_file(file: &[u8], ext: &str, args: &[&str]) -> Value {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "edgepack-probe-{}-{}.{ext}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, file).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .args(["-of", "json"])
        .arg(&path)
        .output()
        .expect("ffprobe is installed (apt-get install ffmpeg)");
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "ffprobe: {err}"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Feeds rendition `v` of input 1 the two consecutive fixture segments (`h264_aac_0.ts`,
/// `h264_aac_1.ts`) as `seg0.ts` and `seg1.ts`, 2 s apart from `T0`, each followed by the
/// playlist that lists it.
pub fn push_fixture_segments(o: &TestOrigin, creds: &(String, String)) {
    for (i, name) in ["h264_aac_0.ts", "h264_aac_1.ts"].iter().enumerate() {
        let now = T0 + i as u64 * 2000;
        assert_eq!(
            put(o, 1, creds, &format!("v/seg{i}.ts"), &fixture(name), now).status,
            201
        );
        let pl = media_playlist(0, i as u64 + 1);
        assert_eq!(
            put(o, 1, creds, "v/index.m3u8", pl.as_bytes(), now + 10).status,
            201
        );
    }
}

/// Pushes segments `0..n` of rendition `dir` like an encoder: each segment, then the playlist
/// (a sliding window of 6), 2 s apart starting at `T0`.
pub fn push_live(o: &TestOrigin, input: u8, creds: &(String, String), dir: &str, n: u64) {
    for i in 0..n {
        let now = T0 + i * 2000;
        assert_eq!(
            put(
                o,
                input,
                creds,
                &format!("{dir}/seg{i}.ts"),
                &ts(2, i as u8),
                now
            )
            .status,
            201
        );
        let first = i.saturating_sub(5);
        let pl = media_playlist(first, i - first + 1);
        let r = put(
            o,
            input,
            creds,
            &format!("{dir}/index.m3u8"),
            pl.as_bytes(),
            now + 10,
        );
        assert!(r.status == 201 || r.status == 200, "{}", text(&r));
    }
}

/// Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden {name}; run with UPDATE_GOLDEN=1"));
    assert_eq!(actual, expected, "golden {name} differs");
}

/// One 188-byte packet: `pid`, payload-unit start, payload padded with 0xff.
fn packet(pid: u16, start: bool, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![
        0x47,
        (u8::from(start) << 6) | (pid >> 8) as u8,
        pid as u8,
        0x10,
    ];
    p.extend_from_slice(payload);
    p.resize(188, 0xff);
    p
}

fn section(mut body: Vec<u8>) -> Vec<u8> {
    let crc = edgepack::media::ts::crc32_mpeg2(&body);
    body.extend_from_slice(&crc.to_be_bytes());
    let mut payload = vec![0u8]; // pointer_field
    payload.extend(body);
    payload
}

/// A minimal real TS segment: PAT, PMT (one H.264 stream on PID 0x100) and one PES whose PTS is
/// `pts`, then `fill` null packets carrying `tag` (so two segments can be told apart).
pub fn ts_with_pts(pts: u64, tag: u8, fill: usize) -> Vec<u8> {
    let pat = section(vec![0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00]);
    let pmt = section(vec![
        0x02, 0xb0, 18, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00,
    ]);
    let p = pts & ((1 << 33) - 1);
    let mut pes = vec![0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5];
    pes.push(0x21 | ((p >> 29) as u8 & 0x0e));
    pes.extend_from_slice(&[
        (p >> 22) as u8,
        ((p >> 14) as u8 & 0xfe) | 1,
        (p >> 7) as u8,
        ((p << 1) as u8) | 1,
    ]);
    pes.extend_from_slice(&[0, 0, 0, 1, 0x09, 0xf0, tag]);
    let mut out = packet(0, true, &pat);
    out.extend(packet(0x1000, true, &pmt));
    out.extend(packet(0x100, true, &pes));
    for _ in 0..fill {
        out.extend(packet(0x1fff, false, &[tag; 184]));
    }
    out
}

/// An encoder pushing one rendition (`dir`, default `v`) to an input: segment files `seg{n}.ts` with PTS
/// `pts0 + (n - first_seq) * 2 s`, then a 6-segment sliding playlist.
pub struct Encoder {
    pub input: u8,
    /// The rendition's directory below the input (`v` unless set).
    pub dir: &'static str,
    pub creds: (String, String),
    pub first_seq: u64,
    pub next: u64,
    pub pts0: u64,
    pub tag: u8,
}

impl Encoder {
    pub fn push(&mut self, o: &TestOrigin, now_ms: u64) -> u16 {
        let n = self.next;
        let bytes = ts_with_pts(
            self.pts0 + (n - self.first_seq) * 180_000,
            self.tag.wrapping_add(n as u8),
            2,
        );
        let r = put(
            o,
            self.input,
            &self.creds,
            &format!("{}/seg{n}.ts", self.dir),
            &bytes,
            now_ms,
        );
        assert_eq!(r.status, 201, "{}", text(&r));
        self.next += 1;
        let first = self.next.saturating_sub(6).max(self.first_seq);
        let mut pl = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
        );
        for s in first..self.next {
            pl.push_str(&format!("#EXTINF:2.000000,\nseg{s}.ts\n"));
        }
        put(
            o,
            self.input,
            &self.creds,
            &format!("{}/index.m3u8", self.dir),
            pl.as_bytes(),
            now_ms + 5,
        )
        .status
    }
}

impl Encoder {
    pub fn new(input: u8, creds: (String, String), first_seq: u64, pts0: u64, tag: u8) -> Encoder {
        Encoder {
            input,
            dir: "v",
            creds,
            first_seq,
            next: first_seq,
            pts0,
            tag,
        }
    }
}

/// Pending once, then ready: a store wrapper awaits it before each operation, so concurrent
/// requests interleave (harvest races) and each operation takes one scheduler turn (round
/// trips). Wakes its task, so a polling executor goes on at once.
pub struct YieldOnce(pub bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

/// The same origin (stores' contents, configuration, randomness, timer) over wrapped stores:
/// counting or interleaving wrappers for the round-trip, cost and race tests.
pub fn wrap_stores<K, O>(
    o: MemoryOrigin,
    kv: impl FnOnce(edgepack::store::MemoryKv) -> K,
    objects: impl FnOnce(edgepack::store::MemoryObjects) -> O,
) -> edgepack::Origin<K, O>
where
    K: edgepack::store::KvStore,
    O: edgepack::store::ObjectStore,
{
    let MemoryOrigin {
        kv: k,
        objects: b,
        config,
        random,
        sleep,
        ..
    } = o;
    edgepack::Origin::new(kv(k), objects(b), config, random, sleep)
}

/// Lowercase hex of bytes (keys and KIDs in ffmpeg's and the providers' notation).
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `ffmpeg -decryption_key` (when given) over init + one segment: the video frames' MD5s.
pub fn framemd5(init: &[u8], segment: &[u8], key: Option<&[u8; 16]>) -> Vec<String> {
    use std::io::Write;
    let mut cmd = std::process::Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-v", "error"]);
    if let Some(k) = key {
        cmd.args(["-decryption_key", &hex(k)]);
    }
    let mut child = cmd
        .args(["-i", "-", "-map", "0:v:0", "-f", "framemd5", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ffmpeg is installed");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(init).unwrap();
    stdin.write_all(segment).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap_or_default().trim().to_owned())
        .collect()
}

/// An observer of a store that records the key of every object read (`Observed<_, Keys>`).
#[derive(Clone, Default)]
pub struct Keys(std::rc::Rc<std::cell::RefCell<Vec<String>>>);

impl edgepack::testing::Observer for Keys {
    fn start(&self, op: edgepack::testing::Op, key: &str) {
        use edgepack::testing::{ObjectOp, Op};
        if op == Op::Object(ObjectOp::Get) {
            self.0.borrow_mut().push(key.to_owned());
        }
    }
}

impl Keys {
    /// The keys read since the last call.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

/// The `$Time$` of each segment of the first SegmentTimeline in `xml` (`S@t`, `@d`, `@r`).
pub fn timeline_times(xml: &str) -> Vec<u64> {
    let timeline = &xml[..xml.find("</SegmentTimeline>").unwrap()];
    let mut out = Vec::new();
    let mut next = 0u64;
    for s in timeline.split("<S ").skip(1) {
        let s = &s[..s.find("/>").unwrap()];
        let num = |name: &str| {
            s.split_whitespace()
                .find_map(|a| a.strip_prefix(&format!("{name}=\"")))
                .map(|v| v.trim_end_matches('"').parse::<u64>().unwrap())
        };
        let (d, r) = (num("d").unwrap(), num("r").unwrap_or(0));
        let mut t = num("t").unwrap_or(next);
        for _ in 0..=r {
            out.push(t);
            t += d;
        }
        next = t;
    }
    out
}
