//! File paths below a root (an input's base URL, a harvested asset): the safe path alphabet,
//! relative references resolved against the file that holds them (RFC 3986 5.2), rendition
//! ids. Ingest, master playlist parsing and harvest share these rules.

use crate::error::{OriginError, OriginResult};
use std::fmt;

use crate::names::{is_path_byte, is_safe_path, Rendition};
pub use crate::names::{MAX_PATH_DEPTH, MAX_PATH_LEN};

const PATH_RULE: &str = "relative paths of at most 6 parts and 256 bytes, each part of A-Z a-z 0-9 . _ -, no `.` or `..` parts";

/// Validates a path (raw, as in the URL): only the safe set, so no percent-encoding tricks.
pub fn validate(path: &str) -> OriginResult<&str> {
    if is_safe_path(path) {
        Ok(path)
    } else {
        Err(OriginError::BadRequest(format!(
            "invalid ingest path `{}`: {PATH_RULE}",
            truncate(path)
        )))
    }
}

/// Why a relative reference was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceError {
    /// An absolute URL or an absolute path.
    NotRelative,
    /// More `..` segments than the base directory has.
    LeavesRoot,
    /// A segment outside `A-Z a-z 0-9 . _ -`.
    Character,
    /// Nothing left after resolution.
    Empty,
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReferenceError::NotRelative => "is not relative",
            ReferenceError::LeavesRoot => "leaves the root",
            ReferenceError::Character => "has characters outside A-Z a-z 0-9 . _ -",
            ReferenceError::Empty => "is empty",
        })
    }
}

impl std::error::Error for ReferenceError {}

/// The directory part of `path` (with its trailing `/`), or empty.
pub fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..=i])
}

/// `reference` (without query or fragment) resolved against the directory `dir`: dot segments
/// removed (RFC 3986 5.2.4), empty segments dropped, never above the root.
pub fn resolve_reference(dir: &str, reference: &str) -> Result<String, ReferenceError> {
    if reference.contains("://") || reference.starts_with('/') {
        return Err(ReferenceError::NotRelative);
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or(ReferenceError::LeavesRoot)?;
            }
            p => parts.push(p),
        }
    }
    if !parts.iter().all(|p| p.bytes().all(is_path_byte)) {
        return Err(ReferenceError::Character);
    }
    if parts.is_empty() {
        return Err(ReferenceError::Empty);
    }
    Ok(parts.join("/"))
}

/// Resolves a URI found in the playlist at `playlist_path` to a path below the input base
/// (a query or fragment is dropped).
pub fn resolve(playlist_path: &str, uri: &str) -> OriginResult<String> {
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    let joined = resolve_reference(dir_of(playlist_path), uri).map_err(|e| {
        OriginError::MalformedPlaylist(match e {
            ReferenceError::NotRelative => {
                format!("URI `{}` must be relative to the playlist", truncate(uri))
            }
            ReferenceError::LeavesRoot => format!("URI `{}` leaves the input", truncate(uri)),
            ReferenceError::Character | ReferenceError::Empty => {
                format!("URI `{}`: {PATH_RULE}", truncate(uri))
            }
        })
    })?;
    validate(&joined).map_err(|_| {
        OriginError::MalformedPlaylist(format!("URI `{}`: {PATH_RULE}", truncate(uri)))
    })?;
    Ok(joined)
}

/// The rendition id of a media playlist path: the path without `.m3u8`; `None` when nothing
/// safe is left (the path was not validated, or was only `.m3u8`).
pub fn rendition_id(playlist_path: &str) -> Option<Rendition> {
    let id = playlist_path
        .strip_suffix(".m3u8")
        .or_else(|| playlist_path.strip_suffix(".M3U8"))
        .unwrap_or(playlist_path);
    Rendition::parse(id)
}

/// The track (rendition) a DASH or CMAF ingest file belongs to, from its path below the
/// input (docs/ingest.md, "Per-track paths"):
/// - ffmpeg's DASH names `init-stream<id>.<ext>` and `chunk-stream<id>-<number>.<ext>`:
///   `stream<id>`;
/// - otherwise the file's directory: `video/init.cmfi` and `video/00001.cmfv` are `video`.
///
/// Directories above are kept (`live/init-stream0.m4s` is `live/stream0`). `None` when the
/// path follows neither form (a bare file name), or is not a [safe path](is_safe_path).
pub fn track_rendition(path: &str) -> Option<Rendition> {
    let (dir, name) = match path.rsplit_once('/') {
        Some((d, n)) => (Some(d), n),
        None => (None, path),
    };
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let id = stem.strip_prefix("init-stream").or_else(|| {
        let (id, number) = stem.strip_prefix("chunk-stream")?.rsplit_once('-')?;
        (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(id)
    });
    match (id, dir) {
        (Some(id), _) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            let track = format!("stream{id}");
            Rendition::parse(&dir.map_or(track.clone(), |d| format!("{d}/{track}")))
        }
        (_, Some(dir)) => Rendition::parse(dir),
        _ => None,
    }
}

/// The name inside DASH-IF ingest's `Streams(<name>)` path part, when `part` has that form
/// (parentheses as they are or percent-encoded, as some senders write them).
pub fn streams_name(part: &str) -> Option<&str> {
    let inner = part
        .strip_prefix("Streams(")
        .or_else(|| part.strip_prefix("Streams%28"))?;
    inner
        .strip_suffix(')')
        .or_else(|| inner.strip_suffix("%29"))
}

/// The file extension, lower-cased.
pub fn extension(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(80);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn track_rendition_of_ffmpeg_names_and_directories() {
        let r = |p: &str| super::track_rendition(p).map(|r| r.to_string());
        assert_eq!(r("init-stream0.m4s").as_deref(), Some("stream0"));
        assert_eq!(r("chunk-stream12-00001.m4s").as_deref(), Some("stream12"));
        assert_eq!(r("live/init-stream2.m4s").as_deref(), Some("live/stream2"));
        assert_eq!(
            r("live/chunk-stream2-00007.m4s").as_deref(),
            Some("live/stream2")
        );
        assert_eq!(r("video_1/init.cmfi").as_deref(), Some("video_1"));
        assert_eq!(r("a/video/00001.cmfv").as_deref(), Some("a/video"));
        // A chunk name without its number is not ffmpeg's: the directory decides.
        assert_eq!(r("live/chunk-stream0.m4s").as_deref(), Some("live"));
        assert_eq!(r("segment_1.cmfv"), None);
        assert_eq!(r("chunk-stream-00001.m4s"), None);
        assert_eq!(r("../x/1.m4s"), None);
        assert_eq!(
            super::streams_name("Streams(video.cmfv)"),
            Some("video.cmfv")
        );
        assert_eq!(super::streams_name("Streams%28a.cmfa%29"), Some("a.cmfa"));
        assert_eq!(super::streams_name("video.cmfv"), None);
    }

    use super::*;

    #[test]
    fn validates_paths() {
        for ok in ["index.m3u8", "stream_0/seg-001.ts", "a/b/c/d/e/f.ts"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a//b",
            "../a",
            "a/./b",
            "a%2Fb",
            "a b",
            "a/b/c/d/e/f/g.ts",
            &"a".repeat(257),
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolves_relative_uris() {
        assert_eq!(
            resolve("stream_0/index.m3u8", "seg1.ts").unwrap(),
            "stream_0/seg1.ts"
        );
        assert_eq!(
            resolve("index.m3u8", "stream_1/index.m3u8").unwrap(),
            "stream_1/index.m3u8"
        );
        assert_eq!(resolve("a/index.m3u8", "../b/1.ts?x=1").unwrap(), "b/1.ts");
        assert!(resolve("index.m3u8", "../1.ts").is_err());
        assert!(resolve("index.m3u8", "http://evil/1.ts").is_err());
        assert!(resolve("index.m3u8", "/abs.ts").is_err());
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("a/B.M3U8"), "m3u8");
        assert_eq!(extension("a.b/c"), "");
    }
}
