//! Signed playback URLs: `token={expires}.{key_id}.{hmac}` where `hmac` is the hex
//! HMAC-SHA256, under the key named `key_id`, of `edgepack-token-v1\n{expires}\n{prefix}`.
//! `prefix` is the endpoint's playback path (`/out/v1/{group}/{channel}/{endpoint}/`), so one
//! token opens the manifest and everything it references until `expires` (Unix seconds).

use crate::auth::constant_time_eq;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Query parameter that carries the token.
pub const TOKEN_PARAM: &str = "token";

/// One signing key; an endpoint holds up to two so keys can be rotated without downtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub id: String,
    pub secret: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Missing,
    Malformed,
    UnknownKey,
    Expired,
    BadSignature,
}

impl TokenError {
    pub fn reason(self) -> &'static str {
        match self {
            TokenError::Missing => "token missing",
            TokenError::Malformed => "token malformed",
            TokenError::UnknownKey => "token key unknown",
            TokenError::Expired => "token expired",
            TokenError::BadSignature => "token signature invalid",
        }
    }
}

fn mac(secret: &str, expires: u64, prefix: &str) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(format!("edgepack-token-v1\n{expires}\n{prefix}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A token for `prefix` valid until `expires` (Unix seconds).
pub fn sign(key: &SigningKey, expires: u64, prefix: &str) -> String {
    format!(
        "{expires}.{}.{}",
        key.id,
        hex(&mac(&key.secret, expires, prefix))
    )
}

/// Checks `token` against the endpoint's keys for a request under `prefix` at `now_s`.
pub fn verify(
    token: Option<&str>,
    keys: &[SigningKey],
    prefix: &str,
    now_s: u64,
) -> Result<(), TokenError> {
    let token = token.ok_or(TokenError::Missing)?;
    let mut parts = token.splitn(3, '.');
    let (Some(expires), Some(kid), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let expires: u64 = expires.parse().map_err(|_| TokenError::Malformed)?;
    let sig = unhex(sig).ok_or(TokenError::Malformed)?;
    let key = keys
        .iter()
        .find(|k| k.id == kid)
        .ok_or(TokenError::UnknownKey)?;
    if !constant_time_eq(&mac(&key.secret, expires, prefix), &sig) {
        return Err(TokenError::BadSignature);
    }
    if expires < now_s {
        return Err(TokenError::Expired);
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "/out/v1/demo/live/hls/";

    fn key(id: &str, secret: &str) -> SigningKey {
        SigningKey {
            id: id.into(),
            secret: secret.into(),
        }
    }

    #[test]
    fn signs_and_verifies_with_rotation() {
        let old = key("k1", "0123456789abcdef-old");
        let new = key("k2", "0123456789abcdef-new");
        let t1 = sign(&old, 2000, PREFIX);
        let t2 = sign(&new, 2000, PREFIX);
        let both = [old.clone(), new.clone()];
        assert_eq!(verify(Some(&t1), &both, PREFIX, 1000), Ok(()));
        assert_eq!(verify(Some(&t2), &both, PREFIX, 1000), Ok(()));
        assert_eq!(
            verify(Some(&t1), &[new], PREFIX, 1000),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn refuses_what_it_must() {
        let k = key("k1", "0123456789abcdef");
        let t = sign(&k, 2000, PREFIX);
        let keys = [k.clone()];
        assert_eq!(
            verify(Some(&t), &keys, PREFIX, 2001),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(Some(&t), &keys, "/out/v1/demo/live/other/", 1000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(None, &keys, PREFIX, 1000), Err(TokenError::Missing));
        let forged_expiry = t.replacen("2000", "9000", 1);
        assert_eq!(
            verify(Some(&forged_expiry), &keys, PREFIX, 1000),
            Err(TokenError::BadSignature)
        );
        for bad in ["", "2000", "2000.k1", "x.k1.00", "2000.k1.zz", "2000.k1.é"] {
            assert!(verify(Some(bad), &keys, PREFIX, 1000).is_err(), "{bad}");
        }
    }
}
