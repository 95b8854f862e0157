//! Resource names: the safe character set that appears in URLs and storage keys.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

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

#[cfg(test)]
mod tests {
    use super::*;

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
