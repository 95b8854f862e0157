//! Secrets: constant-time comparison, HTTP Basic and Bearer credentials, credential generation
//! from the platform's random source.

use base64::Engine;
use std::fmt;

/// Fills a buffer from the platform's CSPRNG (the adapter supplies it).
pub type Random = fn(&mut [u8]) -> Result<(), RandomError>;

/// The platform's random source failed; the text is the platform's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomError(pub String);

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RandomError {}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The user and password of an `Authorization: Basic` header (RFC 7617).
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// The token of an `Authorization: Bearer` header (RFC 6750).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, value) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(value.trim())
}

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of generated passwords: 32 base62 characters, about 190 bits.
pub const PASSWORD_LEN: usize = 32;

/// A uniformly random base62 string of `len` characters (rejection sampling, no modulo bias).
pub fn random_token(random: Random, len: usize) -> Result<String, RandomError> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        random(&mut buf)?;
        for b in buf {
            // 248 = 4 * 62: bytes at or above it would bias the low characters.
            if b < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_secrets() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn parses_basic() {
        // "user:pa:ss" -- a colon in the password is kept.
        let h = "Basic dXNlcjpwYTpzcw==";
        assert_eq!(basic_credentials(h), Some(("user".into(), "pa:ss".into())));
        assert_eq!(basic_credentials("Bearer dXNlcjpwYTpzcw=="), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials("Basic"), None);
    }

    #[test]
    fn parses_bearer() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
    }

    #[test]
    fn tokens_are_base62_of_requested_length() {
        fn counter(buf: &mut [u8]) -> Result<(), RandomError> {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = (i * 7) as u8;
            }
            Ok(())
        }
        let t = random_token(counter, 40).unwrap();
        assert_eq!(t.len(), 40);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
