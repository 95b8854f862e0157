//! The viewer key: who is watching, without storing who it is (docs/stats.md, "Viewers").
//!
//! A key is HMAC-SHA256 over the UTC day, the client address and the `User-Agent`, under a
//! deployment secret, cut to 64 bits. Without the secret a key cannot be tied to an address (the
//! IPv4 space is small enough to try every address against an unkeyed hash), and because the
//! day is part of the message the same viewer gets an unrelated key the next day, so keys
//! cannot follow a person across days.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::IpAddr;

/// Domain separation: the secret may also serve other purposes (the admin token by default).
const CONTEXT: &[u8] = b"edgepack stats viewer v1\0";

/// Milliseconds in a UTC day: keys change at midnight UTC.
const DAY_MS: u64 = 86_400_000;

/// Longest `User-Agent` taken into the key; the rest is ignored.
const MAX_USER_AGENT: usize = 512;

/// Which viewer keys a deployment records (`STATS_VIEWERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewerKeys {
    /// A keyed, daily-changing hash of address and `User-Agent` (the default).
    #[default]
    Hashed,
    /// None: viewer figures are not estimated, no per-viewer value leaves the request.
    Off,
}

impl ViewerKeys {
    /// `hashed` or `off`; anything else is `None`.
    pub fn parse(s: &str) -> Option<ViewerKeys> {
        match s.trim() {
            "hashed" => Some(ViewerKeys::Hashed),
            "off" => Some(ViewerKeys::Off),
            _ => None,
        }
    }
}

/// The viewer key of a request at `at_ms`, as 16 lower-case hex digits; `None` without a
/// client address or an empty secret.
pub fn viewer_key(
    secret: &[u8],
    at_ms: u64,
    client: Option<IpAddr>,
    user_agent: &str,
) -> Option<String> {
    let client = client?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .ok()
        .filter(|_| !secret.is_empty())?;
    mac.update(CONTEXT);
    mac.update(&(at_ms / DAY_MS).to_be_bytes());
    match client {
        IpAddr::V4(a) => mac.update(&a.to_ipv6_mapped().octets()),
        IpAddr::V6(a) => mac.update(&a.octets()),
    }
    let ua = user_agent.as_bytes();
    mac.update(&ua[..ua.len().min(MAX_USER_AGENT)]);
    let digest = mac.finalize().into_bytes();
    Some(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_700_000_000_000;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn same_viewer_same_day_same_key() {
        let a = viewer_key(b"s", T, ip("192.0.2.1"), "hls.js");
        assert_eq!(a, viewer_key(b"s", T + 1000, ip("192.0.2.1"), "hls.js"));
        assert_eq!(a.as_deref().map(str::len), Some(16));
    }

    #[test]
    fn address_agent_day_and_secret_each_change_the_key() {
        let a = viewer_key(b"s", T, ip("192.0.2.1"), "hls.js");
        assert_ne!(a, viewer_key(b"s", T, ip("192.0.2.2"), "hls.js"));
        assert_ne!(a, viewer_key(b"s", T, ip("192.0.2.1"), "Shaka"));
        assert_ne!(a, viewer_key(b"s", T + DAY_MS, ip("192.0.2.1"), "hls.js"));
        assert_ne!(a, viewer_key(b"t", T, ip("192.0.2.1"), "hls.js"));
    }

    #[test]
    fn no_address_or_no_secret_no_key() {
        assert_eq!(viewer_key(b"s", T, None, "hls.js"), None);
        assert_eq!(viewer_key(b"", T, ip("::1"), "hls.js"), None);
    }

    #[test]
    fn the_key_does_not_contain_the_address() {
        let k = viewer_key(b"s", T, ip("10.0.0.1"), "x").unwrap_or_default();
        assert!(!k.contains("0a000001"));
    }
}
