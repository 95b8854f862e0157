//! Encoder file paths below an input's base URL.

use crate::error::{OriginError, OriginResult};

/// Longest accepted path below the input base.
pub const MAX_PATH_LEN: usize = 256;
/// Deepest accepted directory nesting.
pub const MAX_PATH_DEPTH: usize = 6;

const PATH_RULE: &str = "relative paths of at most 6 parts and 256 bytes, each part of A-Z a-z 0-9 . _ -, no `.` or `..` parts";

/// Validates a path (raw, as in the URL): only the safe set, so no percent-encoding tricks.
pub fn validate(path: &str) -> OriginResult<&str> {
    let parts: Vec<&str> = path.split('/').collect();
    let ok = !path.is_empty()
        && path.len() <= MAX_PATH_LEN
        && parts.len() <= MAX_PATH_DEPTH
        && parts.iter().all(|p| valid_part(p));
    if ok {
        Ok(path)
    } else {
        Err(OriginError::BadRequest(format!(
            "invalid ingest path `{}`: {PATH_RULE}",
            truncate(path)
        )))
    }
}

fn valid_part(p: &str) -> bool {
    !p.is_empty()
        && p != "."
        && p != ".."
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Resolves a URI found in the playlist at `playlist_path` to a path below the input base.
pub fn resolve(playlist_path: &str, uri: &str) -> OriginResult<String> {
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    if uri.contains("://") || uri.starts_with('/') {
        return Err(OriginError::MalformedPlaylist(format!(
            "URI `{}` must be relative to the playlist",
            truncate(uri)
        )));
    }
    let mut parts: Vec<&str> = playlist_path.split('/').collect();
    parts.pop();
    for p in uri.split('/') {
        match p {
            "." | "" => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(OriginError::MalformedPlaylist(format!(
                        "URI `{}` leaves the input",
                        truncate(uri)
                    )));
                }
            }
            _ => parts.push(p),
        }
    }
    let joined = parts.join("/");
    validate(&joined).map_err(|_| {
        OriginError::MalformedPlaylist(format!("URI `{}`: {PATH_RULE}", truncate(uri)))
    })?;
    Ok(joined)
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
