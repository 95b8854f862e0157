//! Content keys at rest: AES-256-GCM under a key derived from the deployment secret
//! (`EDGEPACK_KEY_SECRET`), bound to the storage key they are written under (the additional
//! authenticated data), so a record copied to another period or endpoint does not open.
//! docs/encryption.md, "Where keys live".

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use sha2::{Digest, Sha256};

/// First bytes of a sealed record (format version 1).
const MAGIC: &[u8; 4] = b"EPK1";
/// Length of the GCM nonce.
pub const NONCE_LEN: usize = 12;

/// A sealing key: SHA-256 of a domain label and the deployment secret.
pub struct SealKey([u8; 32]);

impl SealKey {
    pub fn derive(secret: &str) -> SealKey {
        let mut h = Sha256::new();
        h.update(b"edgepack content keys v1\0");
        h.update(secret.as_bytes());
        SealKey(h.finalize().into())
    }
}

/// Why a sealed record did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// Not a record of this format.
    Format,
    /// Wrong secret, another storage key, or altered bytes.
    Authentication,
}

/// `plain` sealed under `key` for storage key `aad` with a fresh `nonce`.
pub fn seal(key: &SealKey, nonce: &[u8; NONCE_LEN], aad: &str, plain: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(&key.0.into());
    let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + plain.len() + 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(nonce);
    // Encryption with a valid key and nonce length cannot fail for inputs below 64 GiB.
    if let Ok(sealed) = cipher.encrypt(
        Nonce::from_slice(nonce),
        Payload {
            msg: plain,
            aad: aad.as_bytes(),
        },
    ) {
        out.extend_from_slice(&sealed);
    }
    out
}

/// The plain text of a record sealed for `aad`.
pub fn open(key: &SealKey, aad: &str, record: &[u8]) -> Result<Vec<u8>, SealError> {
    let rest = record.strip_prefix(MAGIC).ok_or(SealError::Format)?;
    if rest.len() < NONCE_LEN + 16 {
        return Err(SealError::Format);
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    Aes256Gcm::new(&key.0.into())
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| SealError::Authentication)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_its_secret_and_storage_key() {
        let key = SealKey::derive("s3cret");
        let record = seal(&key, &[7; NONCE_LEN], "drm/a/1", b"keys");
        assert!(!record.windows(4).any(|w| w == b"keys"));
        assert_eq!(open(&key, "drm/a/1", &record).as_deref(), Ok(&b"keys"[..]));
        assert_eq!(
            open(&SealKey::derive("other"), "drm/a/1", &record),
            Err(SealError::Authentication)
        );
        assert_eq!(
            open(&key, "drm/a/2", &record),
            Err(SealError::Authentication)
        );
        let mut flipped = record.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            open(&key, "drm/a/1", &flipped),
            Err(SealError::Authentication)
        );
        assert_eq!(open(&key, "drm/a/1", b"EPK1"), Err(SealError::Format));
    }
}
