//! Endpoint access control. Every configured control must pass (AND): CDN authorization header,
//! IP blocklist and allowlist, Referer allowlist, authorization code, signed URL token.
//! A denial names the control that refused, never a secret.

mod ip;
pub mod token;

pub use ip::{IpNet, IP_RULE};
pub use token::{SigningKey, TOKEN_PARAM};

use crate::auth::constant_time_eq;
use crate::http::{query_param, Request};
use serde::{Deserialize, Serialize};

/// Most entries in one IP list.
pub const MAX_IP_ENTRIES: usize = 100;
/// Most entries in the Referer allowlist.
pub const MAX_REFERERS: usize = 50;
/// Most signing keys: two, so one can be rotated while the other still verifies.
pub const MAX_SIGNING_KEYS: usize = 2;

/// A secret header the CDN adds to origin requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdnAuthorization {
    pub header_name: String,
    pub secret: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessControl {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_allowlist: Vec<IpNet>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_blocklist: Vec<IpNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn_authorization: Option<CdnAuthorization>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<SigningKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub referer_allowlist: Vec<String>,
}

/// The control that refused a request; its text goes into the `x-edgepack-denied` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial(pub &'static str);

impl AccessControl {
    /// Whether the answer depends on who asks (headers or address), so shared caches must not
    /// keep it. Signed tokens travel in the URL (part of any cache key) and the CDN header is
    /// the CDN's own: neither makes a response private.
    pub fn per_client(&self) -> bool {
        self.authorization_code.is_some()
            || !self.ip_allowlist.is_empty()
            || !self.ip_blocklist.is_empty()
            || !self.referer_allowlist.is_empty()
    }

    /// Whether no control is set: anyone who has a URL may fetch it, so a copy kept at the
    /// edge by URL (the platform cache) may answer the next request without a check.
    pub fn is_open(&self) -> bool {
        *self == AccessControl::default()
    }

    /// Whether a token must be carried on the URLs a manifest references.
    pub fn signs_urls(&self) -> bool {
        !self.signing_keys.is_empty()
    }

    /// Checks a playback request under the endpoint path `prefix` at `now_ms`.
    pub fn check(&self, req: &Request, prefix: &str, now_ms: u64) -> Result<(), Denial> {
        if let Some(cdn) = &self.cdn_authorization {
            let given = req.header(&cdn.header_name).unwrap_or_default();
            if !constant_time_eq(given.as_bytes(), cdn.secret.as_bytes()) {
                return Err(Denial("cdn authorization"));
            }
        }
        if !self.ip_blocklist.is_empty() || !self.ip_allowlist.is_empty() {
            let Some(ip) = req.client_ip else {
                return Err(Denial("client address unknown"));
            };
            if self.ip_blocklist.iter().any(|n| n.contains(ip)) {
                return Err(Denial("ip blocked"));
            }
            if !self.ip_allowlist.is_empty() && !self.ip_allowlist.iter().any(|n| n.contains(ip)) {
                return Err(Denial("ip not allowed"));
            }
        }
        if !self.referer_allowlist.is_empty() {
            let host = req.header("referer").and_then(referer_host);
            let allowed =
                host.is_some_and(|h| self.referer_allowlist.iter().any(|p| host_matches(p, &h)));
            if !allowed {
                return Err(Denial("referer not allowed"));
            }
        }
        if let Some(code) = &self.authorization_code {
            let ok = ["authorization", "x-tencent-package"].iter().any(|h| {
                req.header(h)
                    .is_some_and(|v| constant_time_eq(v.trim().as_bytes(), code.as_bytes()))
            });
            if !ok {
                return Err(Denial("authorization code"));
            }
        }
        if self.signs_urls() {
            let token = query_param(&req.query, TOKEN_PARAM);
            token::verify(token, &self.signing_keys, prefix, now_ms / 1000)
                .map_err(|e| Denial(e.reason()))?;
        }
        Ok(())
    }
}

/// The lower-cased host of a Referer URL.
fn referer_host(referer: &str) -> Option<String> {
    let rest = referer.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split_once(']').map(|(h, _)| &h[1..])?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// `example.com` matches itself; `*.example.com` matches any subdomain of it.
fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => {
            host.len() > domain.len() + 1
                && host.ends_with(domain)
                && host[..host.len() - domain.len()].ends_with('.')
        }
        None => pattern == host,
    }
}

mod validate;

#[cfg(test)]
mod tests;
