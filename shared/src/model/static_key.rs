//! `encryption.static_key`: the operator's own content key, for users with their own key
//! server instead of a SPEKE provider (docs/encryption.md, "Static key"). Like Shaka
//! Packager's raw keys and MediaPackage's static key for HLS AES-128: a key ID, the key, an
//! optional IV and the URL players get the key (or licence) from. The key is write-only: the
//! API seals it under `EDGEPACK_KEY_SECRET` before the endpoint is stored and shows it masked.

use crate::auth::Random;
use crate::drm::seal::{self, SealKey, NONCE_LEN};
use crate::drm::{hex, parse_hex16};
use crate::error::{OriginError, OriginResult};
use crate::fields::Fields;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;

/// What the API shows in place of the key.
pub const MASK: &str = "********";

const HEX_RULE: &str = "32 hexadecimal digits";
const IV_RULE: &str = "\"\" or 32 hexadecimal digits";
const SHAPE_RULE: &str = "an object {key_id, key, iv, key_url}, or null";

/// `encryption.static_key`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticKey {
    /// The KID, 32 hex digits (`default_KID`, `KEYID`).
    pub key_id: String,
    /// The key sealed under `EDGEPACK_KEY_SECRET` (base64), bound to the key ID.
    #[serde(default)]
    pub sealed_key: String,
    /// `""` or 32 hex digits: AES_128's IV of every segment, the cbcs constant IV.
    #[serde(default)]
    pub iv: String,
    /// Where players get the key: AES_128's `EXT-X-KEY` URI; with ClearKey the `identity`
    /// URI (empty: the endpoint's key route).
    #[serde(default)]
    pub key_url: String,
    /// A key given in an API body, until [`StaticKey::seal`] (never stored or serialized).
    #[serde(skip)]
    pub new_key: Option<[u8; 16]>,
}

impl fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKey")
            .field("key_id", &self.key_id)
            .field("iv", &self.iv)
            .field("key_url", &self.key_url)
            .finish_non_exhaustive()
    }
}

impl StaticKey {
    /// Applies an API body's `static_key` (`null` removes it) onto `current`.
    pub fn apply(v: &Value, current: Option<StaticKey>) -> OriginResult<Option<StaticKey>> {
        let field = |name: &'static str, rule: &'static str| OriginError::invalid(name, rule);
        match v {
            Value::Null => return Ok(None),
            Value::Object(_) => {}
            _ => return Err(field("encryption.static_key", SHAPE_RULE)),
        }
        let mut k = current.unwrap_or(StaticKey {
            key_id: String::new(),
            sealed_key: String::new(),
            iv: String::new(),
            key_url: String::new(),
            new_key: None,
        });
        let mut f = Fields::new(v)?;
        let text = |v: &Value, name: &'static str, rule: &'static str| match v {
            Value::Null => Ok(String::new()),
            Value::String(s) => Ok(s.clone()),
            _ => Err(field(name, rule)),
        };
        if let Some(v) = f.present("key_id") {
            let id = text(v, "encryption.static_key.key_id", HEX_RULE)?.to_ascii_lowercase();
            if id != k.key_id {
                // Another key ID: the old key does not go with it.
                k.sealed_key.clear();
            }
            k.key_id = id;
        }
        if let Some(v) = f.present("key") {
            let key = text(v, "encryption.static_key.key", HEX_RULE)?;
            // The mask sent back unchanged keeps the stored key.
            if key != MASK {
                k.new_key = Some(
                    parse_hex16(&key)
                        .ok_or_else(|| field("encryption.static_key.key", HEX_RULE))?,
                );
            }
        }
        if let Some(v) = f.present("iv") {
            k.iv = text(v, "encryption.static_key.iv", IV_RULE)?.to_ascii_lowercase();
        }
        if let Some(v) = f.present("key_url") {
            k.key_url = text(
                v,
                "encryption.static_key.key_url",
                super::encryption::URL_RULE,
            )?;
        }
        f.finish().map_err(|e| match e {
            OriginError::UnknownField { field, known } => OriginError::UnknownField {
                field: format!("encryption.static_key.{field}"),
                known,
            },
            OriginError::BadRequest(m) => OriginError::BadRequest(format!("static_key: {m}")),
            e => e,
        })?;
        Ok(Some(k))
    }

    /// Checks the fields that need no secret.
    pub fn check(&self) -> OriginResult<()> {
        if parse_hex16(&self.key_id).is_none() {
            return Err(OriginError::invalid(
                "encryption.static_key.key_id",
                HEX_RULE,
            ));
        }
        if self.new_key.is_none() && self.sealed_key.is_empty() {
            return Err(OriginError::invalid(
                "encryption.static_key.key",
                "32 hexadecimal digits (required with a new key_id)",
            ));
        }
        if !self.iv.is_empty() && parse_hex16(&self.iv).is_none() {
            return Err(OriginError::invalid("encryption.static_key.iv", IV_RULE));
        }
        if !self.key_url.is_empty() && !super::encryption::valid_provider_url(&self.key_url) {
            return Err(OriginError::invalid(
                "encryption.static_key.key_url",
                super::encryption::URL_RULE,
            ));
        }
        Ok(())
    }

    /// Seals a key given in the body (a fresh random nonce), so only its sealed form is
    /// stored. Without the deployment secret a new key cannot be kept: refused.
    pub fn seal(&mut self, secret: Option<&str>, random: Random) -> OriginResult<()> {
        let Some(key) = self.new_key.take() else {
            return Ok(());
        };
        let secret = secret.ok_or(OriginError::NotConfigured(
            "EDGEPACK_KEY_SECRET (a static key is stored sealed with it)",
        ))?;
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce).map_err(OriginError::Random)?;
        let record = seal::seal(&SealKey::derive(secret), &nonce, &self.aad(), &key);
        self.sealed_key = base64::engine::general_purpose::STANDARD.encode(record);
        Ok(())
    }

    /// The key, opened with the deployment secret; fails closed.
    pub fn open(&self, secret: &str) -> OriginResult<[u8; 16]> {
        let unreadable = || {
            OriginError::NotConfigured(
                "EDGEPACK_KEY_SECRET does not open the endpoint's static key (was it changed?)",
            )
        };
        let record = base64::engine::general_purpose::STANDARD
            .decode(&self.sealed_key)
            .map_err(|_| unreadable())?;
        let plain =
            seal::open(&SealKey::derive(secret), &self.aad(), &record).map_err(|_| unreadable())?;
        <[u8; 16]>::try_from(plain.as_slice()).map_err(|_| unreadable())
    }

    /// The KID as bytes (checked by [`StaticKey::check`] before storing).
    pub fn kid(&self) -> Option<[u8; 16]> {
        parse_hex16(&self.key_id)
    }

    /// What the API shows: the key masked, never its sealed form.
    pub fn view(&self) -> Value {
        json!({"key_id": self.key_id, "key": MASK, "iv": self.iv, "key_url": self.key_url})
    }

    /// The sealed key is bound to its key ID: moved under another, it does not open.
    fn aad(&self) -> String {
        format!(
            "edgepack static key {}",
            hex(&self.kid().unwrap_or_default())
        )
    }
}
