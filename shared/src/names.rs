//! Names that appear in URLs and storage keys, in a safe character set: resource names and
//! rendition ids.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::ops::Deref;

/// Longest resource name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// A validated group, channel, endpoint or manifest name: 1-64 characters of `[A-Za-z0-9_-]`,
/// starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

/// Why a name was refused.
pub const NAME_RULE: &str = "1-64 characters of A-Z a-z 0-9 _ -, starting with a letter or digit";

impl Name {
    pub fn parse(s: &str) -> Option<Name> {
        let ok = !s.is_empty()
            && s.len() <= MAX_NAME_LEN
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        ok.then(|| Name(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        let s = String::deserialize(d)?;
        Name::parse(&s).ok_or_else(|| serde::de::Error::custom(NAME_RULE))
    }
}

/// Longest path accepted below an input's base URL (and so the longest rendition id).
pub const MAX_PATH_LEN: usize = 256;
/// Deepest directory nesting of such a path.
pub const MAX_PATH_DEPTH: usize = 6;

/// Whether `path` is a relative path of at most [`MAX_PATH_DEPTH`] parts and [`MAX_PATH_LEN`]
/// bytes, each part of `A-Z a-z 0-9 . _ -` and none `.` or `..` (no percent-encoding tricks).
pub fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= MAX_PATH_LEN
        && path.split('/').count() <= MAX_PATH_DEPTH
        && path.split('/').all(is_safe_part)
}

fn is_safe_part(p: &str) -> bool {
    !p.is_empty() && p != "." && p != ".." && p.bytes().all(is_path_byte)
}

/// The bytes allowed in a path part.
pub fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// A rendition id: the path of an encoder's media playlist below the input base, without
/// `.m3u8` (`stream_0/index`). Always a [safe path](is_safe_path), so it can go into storage
/// keys and URLs as it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Rendition(String);

/// Why a rendition id was refused.
pub const RENDITION_RULE: &str =
    "a relative path of at most 6 parts and 256 bytes of A-Z a-z 0-9 . _ - and /";

impl Rendition {
    pub fn parse(s: &str) -> Option<Rendition> {
        is_safe_path(s).then(|| Rendition(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Rendition {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Rendition {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Maps keyed by rendition can be read with a `&str`.
impl std::borrow::Borrow<str> for Rendition {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Rendition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Rendition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rendition, D::Error> {
        let s = String::deserialize(d)?;
        Rendition::parse(&s).ok_or_else(|| serde::de::Error::custom(RENDITION_RULE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renditions_are_safe_paths() {
        // The path rule itself is tested with `paths::validate`.
        let r = Rendition::parse("stream_0/index").expect("a safe path");
        assert_eq!((r.as_str(), &*r), ("stream_0/index", "stream_0/index"));
        assert!(Rendition::parse("../x").is_none());
        assert!(serde_json::from_str::<Rendition>("\"a%2Fb\"").is_err());
        assert_eq!(
            serde_json::to_string(&r).ok().as_deref(),
            Some("\"stream_0/index\"")
        );
    }

    #[test]
    fn accepts_safe_names() {
        for s in ["a", "live-1", "Demo_2", &"x".repeat(64)] {
            assert!(Name::parse(s).is_some(), "{s}");
        }
    }

    #[test]
    fn refuses_unsafe_names() {
        for s in [
            "",
            "-a",
            "_a",
            "a/b",
            "a.b",
            "..",
            "a b",
            "é",
            "a%2f",
            &"x".repeat(65),
        ] {
            assert!(Name::parse(s).is_none(), "{s}");
        }
    }
}
