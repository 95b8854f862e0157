//! `pssh` boxes of commercial DRM systems built from a key ID, for keys that do not come
//! from a key provider (a static key, docs/encryption.md): Widevine's `WidevinePsshData`
//! protobuf and PlayReady's PlayReady Object with a WRM header. A provider's own boxes are
//! used as they come; these carry only what a licence server needs to find the key.

use super::pssh::pssh_box;
use super::Scheme;
use crate::media::mp4::MuxError;
use base64::Engine;

/// Widevine's SystemID: edef8ba9-79d6-4ace-a3c8-27dcd51d21ed.
pub const WIDEVINE_SYSTEM_ID: [u8; 16] = [
    0xed, 0xef, 0x8b, 0xa9, 0x79, 0xd6, 0x4a, 0xce, 0xa3, 0xc8, 0x27, 0xdc, 0xd5, 0x1d, 0x21, 0xed,
];
/// PlayReady's SystemID: 9a04f079-9840-4286-ab92-e65be0885f95.
pub const PLAYREADY_SYSTEM_ID: [u8; 16] = [
    0x9a, 0x04, 0xf0, 0x79, 0x98, 0x40, 0x42, 0x86, 0xab, 0x92, 0xe6, 0x5b, 0xe0, 0x88, 0x5f, 0x95,
];

/// `WidevinePsshData` field numbers (Widevine's public `widevine_pssh.proto`).
const WV_KEY_ID: u8 = 2;
const WV_CONTENT_ID: u8 = 4;
const WV_PROTECTION_SCHEME: u8 = 9;
/// Protobuf wire types.
const WIRE_VARINT: u8 = 0;
const WIRE_BYTES: u8 = 2;
/// PlayReady Object record type of a rights management (WRM) header.
const PRO_RECORD_WRM_HEADER: u16 = 1;
/// The WRM header's XML namespace.
const WRM_NAMESPACE: &str = "http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader";

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // The low seven bits, masked: no truncation.
        out.push(((v & 0x7f) as u8) | 0x80);
        v >>= 7;
    }
    out.push((v & 0x7f) as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u8, value: &[u8]) {
    out.push((field << 3) | WIRE_BYTES);
    varint(out, crate::media::reader::len_u64(value.len()));
    out.extend_from_slice(value);
}

/// The Widevine `pssh` (version 0) of one key: `WidevinePsshData` with `key_id`,
/// `content_id` and `protection_scheme` (the scheme's four characters as a big-endian
/// number).
pub fn widevine_pssh(
    kid: &[u8; 16],
    content_id: &[u8],
    scheme: Scheme,
) -> Result<Vec<u8>, MuxError> {
    let mut data = Vec::with_capacity(48 + content_id.len());
    bytes_field(&mut data, WV_KEY_ID, kid);
    if !content_id.is_empty() {
        bytes_field(&mut data, WV_CONTENT_ID, content_id);
    }
    data.push((WV_PROTECTION_SCHEME << 3) | WIRE_VARINT);
    varint(
        &mut data,
        u64::from(u32::from_be_bytes(scheme.scheme_type())),
    );
    pssh_box(&WIDEVINE_SYSTEM_ID, &[], &data)
}

/// A KID as PlayReady writes it: a GUID, whose first three fields are little-endian.
pub fn playready_guid(kid: &[u8; 16]) -> [u8; 16] {
    let mut g = *kid;
    g[..4].reverse();
    g[4..6].reverse();
    g[6..8].reverse();
    g
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The WRM header of one key: version 4.0.0.0 for `cenc` (AES-CTR, the most widely read
/// version), 4.3.0.0 for `cbcs` (the first version with AES-CBC); `LA_URL` only when given.
pub fn wrm_header(kid: &[u8; 16], la_url: Option<&str>, scheme: Scheme) -> String {
    let kid = base64::engine::general_purpose::STANDARD.encode(playready_guid(kid));
    let la_url = la_url
        .map(|u| format!("<LA_URL>{}</LA_URL>", xml_escape(u)))
        .unwrap_or_default();
    match scheme {
        Scheme::Cenc => format!(
            "<WRMHEADER xmlns=\"{WRM_NAMESPACE}\" version=\"4.0.0.0\"><DATA><PROTECTINFO><KEYLEN>16</KEYLEN><ALGID>AESCTR</ALGID></PROTECTINFO><KID>{kid}</KID>{la_url}</DATA></WRMHEADER>"
        ),
        Scheme::Cbcs => format!(
            "<WRMHEADER xmlns=\"{WRM_NAMESPACE}\" version=\"4.3.0.0\"><DATA><PROTECTINFO><KIDS><KID ALGID=\"AESCBC\" VALUE=\"{kid}\"></KID></KIDS></PROTECTINFO>{la_url}</DATA></WRMHEADER>"
        ),
    }
}

/// The PlayReady `pssh` (version 0) of one key: a PlayReady Object (little-endian length,
/// record count 1, one WRM header record in UTF-16LE) around [`wrm_header`].
pub fn playready_pssh(
    kid: &[u8; 16],
    la_url: Option<&str>,
    scheme: Scheme,
) -> Result<Vec<u8>, MuxError> {
    let too_large = || MuxError::OutOfRange {
        field: "PlayReady header length",
    };
    let xml: Vec<u8> = wrm_header(kid, la_url, scheme)
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let record_len = u16::try_from(xml.len()).map_err(|_| too_large())?;
    let total = u32::try_from(xml.len() + 10).map_err(|_| too_large())?;
    let mut pro = Vec::with_capacity(xml.len() + 10);
    pro.extend_from_slice(&total.to_le_bytes());
    pro.extend_from_slice(&1u16.to_le_bytes()); // record count
    pro.extend_from_slice(&PRO_RECORD_WRM_HEADER.to_le_bytes());
    pro.extend_from_slice(&record_len.to_le_bytes());
    pro.extend_from_slice(&xml);
    pssh_box(&PLAYREADY_SYSTEM_ID, &[], &pro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_order_swaps_the_first_three_fields() {
        let kid: [u8; 16] = core::array::from_fn(|i| i as u8);
        assert_eq!(
            playready_guid(&kid),
            [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
        );
    }

    #[test]
    fn long_content_ids_take_a_two_byte_length() {
        let b = widevine_pssh(&[1; 16], &[b'x'; 200], Scheme::Cenc).unwrap();
        super::super::check_pssh(&b, 0).unwrap();
        // data: key_id (2 + 16), content_id tag, length 200 = 0xc8 0x01.
        assert_eq!(&b[32 + 18..32 + 21], &[0x22, 0xc8, 0x01]);
    }

    #[test]
    fn la_url_is_escaped_and_optional() {
        let h = wrm_header(&[0; 16], Some("https://l.example/?a=1&b=2"), Scheme::Cenc);
        assert!(
            h.contains("<LA_URL>https://l.example/?a=1&amp;b=2</LA_URL>"),
            "{h}"
        );
        assert!(!wrm_header(&[0; 16], None, Scheme::Cbcs).contains("LA_URL"));
    }
}
