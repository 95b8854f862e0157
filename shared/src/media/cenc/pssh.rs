//! Protection system specific header boxes (`pssh`, ISO/IEC 23001-7 8.1): written in `moov`
//! for players' CDMs. Boxes from a key server are checked before they are written; the
//! W3C ClearKey one (https://www.w3.org/TR/eme-initdata-cenc/) is built here.

use super::CencError;
use crate::media::mp4::writer::BoxWriter;
use crate::media::mp4::MuxError;
use crate::media::reader::Reader;

/// SystemID of W3C Common PSSH / ClearKey: 1077efec-c0b2-4d02-ace3-3c1e52e2fb4b.
pub const CLEARKEY_SYSTEM_ID: [u8; 16] = [
    0x10, 0x77, 0xef, 0xec, 0xc0, 0xb2, 0x4d, 0x02, 0xac, 0xe3, 0x3c, 0x1e, 0x52, 0xe2, 0xfb, 0x4b,
];

/// A `pssh` box: version 1 listing `key_ids` when there are any, version 0 otherwise.
pub fn pssh_box(
    system_id: &[u8; 16],
    key_ids: &[[u8; 16]],
    data: &[u8],
) -> Result<Vec<u8>, MuxError> {
    let mut out = Vec::with_capacity(32 + 16 * key_ids.len() + data.len());
    let mut w = BoxWriter::new(&mut out);
    let version = u8::from(!key_ids.is_empty());
    w.full_box(b"pssh", version, 0, |w| {
        w.bytes(system_id);
        if version == 1 {
            w.u32(
                u32::try_from(key_ids.len()).map_err(|_| MuxError::OutOfRange {
                    field: "pssh KID_count",
                })?,
            );
            key_ids.iter().for_each(|k| w.bytes(k));
        }
        w.u32(u32::try_from(data.len()).map_err(|_| MuxError::OutOfRange {
            field: "pssh DataSize",
        })?);
        w.bytes(data);
        Ok(())
    })?;
    Ok(out)
}

/// The W3C ClearKey `pssh` (version 1 with the key IDs, no data) that browsers' ClearKey
/// CDMs take as init data.
pub fn clearkey_pssh(key_ids: &[[u8; 16]]) -> Result<Vec<u8>, MuxError> {
    pssh_box(&CLEARKEY_SYSTEM_ID, key_ids, &[])
}

/// Checks that `bytes` is exactly one well-formed `pssh` box (size, type, version 0 or 1,
/// KID count and DataSize within the box); `index` names it in the error.
pub fn check_pssh(bytes: &[u8], index: usize) -> Result<(), CencError> {
    let bad = |what| CencError::Pssh { index, what };
    let mut r = Reader::new(bytes);
    let size = r.u32().map_err(|_| bad("shorter than a box header"))?;
    if usize::try_from(size).ok() != Some(bytes.len()) {
        return Err(bad("box size differs from the bytes given"));
    }
    if r.take(4).ok() != Some(&b"pssh"[..]) {
        return Err(bad("not a pssh box"));
    }
    let version = r.u32().map_err(|_| bad("cut short"))? >> 24;
    r.skip(16).map_err(|_| bad("cut short"))?; // SystemID
    match version {
        0 => {}
        1 => {
            let count = r.u32().map_err(|_| bad("cut short"))?;
            let kids = usize::try_from(count)
                .ok()
                .and_then(|n| n.checked_mul(16))
                .ok_or(bad("KID_count"))?;
            r.skip(kids).map_err(|_| bad("KID_count beyond the box"))?;
        }
        _ => return Err(bad("version other than 0 or 1")),
    }
    let data_size = r.u32().map_err(|_| bad("cut short"))?;
    let data_size = usize::try_from(data_size).map_err(|_| bad("DataSize"))?;
    if r.remaining() != data_size {
        return Err(bad("DataSize differs from the rest of the box"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearkey_box_layout() {
        let kid = [0xAB; 16];
        let b = clearkey_pssh(&[kid]).unwrap();
        assert_eq!(b.len(), 8 + 4 + 16 + 4 + 16 + 4);
        assert_eq!(&b[4..8], b"pssh");
        assert_eq!(b[8], 1);
        assert_eq!(&b[12..28], &CLEARKEY_SYSTEM_ID);
        assert_eq!(&b[28..32], &[0, 0, 0, 1]);
        assert_eq!(&b[32..48], &kid);
        check_pssh(&b, 0).unwrap();
        let v0 = pssh_box(&[1; 16], &[], b"data").unwrap();
        assert_eq!(v0[8], 0);
        check_pssh(&v0, 0).unwrap();
    }

    #[test]
    fn hostile_boxes_rejected() {
        let good = clearkey_pssh(&[[1; 16]]).unwrap();
        let mut bad = good.clone();
        bad[31] = 9; // KID_count beyond the box
        assert!(check_pssh(&bad, 0).is_err());
        assert!(check_pssh(&good[..good.len() - 1], 0).is_err());
        let mut long = good.clone();
        long.push(0);
        assert!(check_pssh(&long, 0).is_err());
        assert!(check_pssh(&[], 0).is_err());
    }
}
