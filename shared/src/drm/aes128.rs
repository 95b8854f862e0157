//! HLS `METHOD=AES-128` (RFC 8216bis 5.2): a whole media segment encrypted with AES-128 in CBC
//! mode with PKCS#7 padding; the IV is explicit, or the media sequence number as a 128-bit
//! big-endian integer.

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;

/// AES block size in bytes.
pub const BLOCK: usize = 16;

/// The IV a playlist without an `IV` attribute implies for the segment with media sequence
/// number `msn` (RFC 8216bis 5.2).
pub fn sequence_iv(msn: u64) -> [u8; 16] {
    u128::from(msn).to_be_bytes()
}

/// `plain` encrypted with AES-128-CBC, PKCS#7 padded (always 1 to 16 bytes of padding).
pub fn encrypt_segment(key: &[u8; 16], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let cipher = Aes128::new(GenericArray::from_slice(key));
    let pad = BLOCK - plain.len() % BLOCK;
    let mut out = Vec::with_capacity(plain.len() + pad);
    out.extend_from_slice(plain);
    out.resize(plain.len() + pad, u8::try_from(pad).unwrap_or(16));
    let mut chain = *iv;
    for block in out.chunks_exact_mut(BLOCK) {
        for (b, c) in block.iter_mut().zip(chain) {
            *b ^= c;
        }
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
        chain.copy_from_slice(block);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt), first two blocks.
    #[test]
    fn nist_cbc_vector() {
        let key = [
            0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
            0x4f, 0x3c,
        ];
        let iv: [u8; 16] = core::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
        let plain = [
            0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93,
            0x17, 0x2a, 0xae, 0x2d, 0x8a, 0x57, 0x1e, 0x03, 0xac, 0x9c, 0x9e, 0xb7, 0x6f, 0xac,
            0x45, 0xaf, 0x8e, 0x51,
        ];
        let out = encrypt_segment(&key, &iv, &plain);
        assert_eq!(out.len(), 48, "a full block of padding follows");
        assert_eq!(
            super::super::hex(&out[..32]),
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
        );
    }

    #[test]
    fn sequence_iv_is_big_endian() {
        assert_eq!(sequence_iv(0x0102)[14..], [1, 2]);
        assert_eq!(sequence_iv(7)[..14], [0; 14]);
    }
}
