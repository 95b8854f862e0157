//! A CMAF media segment holding one fragment: `styp`, `moof` (ISO/IEC 14496-12 8.8.4) with
//! `mfhd` (8.8.5) and one `traf` (8.8.6: `tfhd` 8.8.7, `tfdt` 8.8.12, `trun` 8.8.8), then
//! `mdat` (8.1.1). An encrypted fragment's `traf` also has `saiz` (8.7.8), `saio` (8.7.9) and
//! `senc` (ISO/IEC 23001-7 7.2); with key rotation, `moof` also holds the `pssh` boxes of the
//! fragment's key (ISO/IEC 23001-7 8.1) and `traf` a `seig` sample group (`sbgp` 8.9.2, `sgpd`
//! 8.9.3; ISO/IEC 23001-7 6) naming that key.

use super::ftyp::write_styp;
use super::writer::BoxWriter;
use super::{MuxError, TRACK_ID};

/// `sample_flags` (8.8.3.1) of a sync sample: sample_depends_on = 2 (does not depend on others).
const SYNC_SAMPLE_FLAGS: u32 = 0x0200_0000;
/// `sample_flags` of a non-sync sample: sample_depends_on = 1, sample_is_non_sync_sample = 1.
const NON_SYNC_SAMPLE_FLAGS: u32 = 0x0101_0000;

/// `tfhd` flags (8.8.7.1).
const TFHD_DEFAULT_SAMPLE_FLAGS_PRESENT: u32 = 0x00_0020;
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// `trun` flags (8.8.8.1).
const TRUN_DATA_OFFSET_PRESENT: u32 = 0x00_0001;
const TRUN_SAMPLE_DURATION_PRESENT: u32 = 0x00_0100;
const TRUN_SAMPLE_SIZE_PRESENT: u32 = 0x00_0200;
const TRUN_SAMPLE_FLAGS_PRESENT: u32 = 0x00_0400;
const TRUN_SAMPLE_COMPOSITION_TIME_OFFSETS_PRESENT: u32 = 0x00_0800;

/// One sample as `trun` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleInfo {
    /// In the track's timescale.
    pub duration: u32,
    pub size: u32,
    pub is_sync: bool,
    /// PTS − DTS in the track's timescale (`trun` version 1, signed).
    pub composition_offset: i32,
}

/// `senc` flags (ISO/IEC 23001-7 7.2.2): the entries carry subsample tables.
const SENC_USE_SUBSAMPLES: u32 = 0x2;

/// The sample auxiliary information of an encrypted fragment (ISO/IEC 23001-7 7): what
/// [`crate::media::cenc`] computed for each sample, in the `senc` entry layout.
#[derive(Debug, Clone, Copy)]
pub struct SampleEncryption<'a> {
    /// The `senc` entries of all samples, concatenated: each the per-sample IV (if any),
    /// then, with `use_subsamples`, subsample_count and the (clear, protected) pairs.
    pub entries: &'a [u8],
    /// Bytes of each sample's entry (`saiz`), one per sample.
    pub sizes: &'a [u8],
    /// Entries carry subsample tables (`senc` flags 0x2).
    pub use_subsamples: bool,
    /// Key rotation: complete `pssh` boxes written in `moof` after `mfhd`.
    pub moof_pssh: &'a [Vec<u8>],
    /// Key rotation: a `CencSampleEncryptionInformationGroupEntry` (ISO/IEC 23001-7 6) that
    /// every sample of the fragment maps to (`sbgp` + `sgpd` of grouping type `seig`).
    pub seig: Option<&'a [u8]>,
}

/// `group_description_index` of the first entry of a fragment-local `sgpd` (14496-12 8.9.4:
/// indexes from 0x10001 refer to the `sgpd` inside the `traf`).
const FRAGMENT_LOCAL_GROUP: u32 = 0x1_0001;

/// Appends a media segment for `samples` to `out`. `write_mdat` must append exactly the
/// samples' bytes, in order; `base_media_decode_time` is the first sample's decode time.
pub fn write_media_segment(
    out: &mut Vec<u8>,
    sequence_number: u32,
    base_media_decode_time: u64,
    samples: &[SampleInfo],
    write_mdat: impl FnOnce(&mut Vec<u8>),
) -> Result<(), MuxError> {
    write_media_segment_with(
        out,
        sequence_number,
        base_media_decode_time,
        samples,
        None,
        write_mdat,
    )
}

/// [`write_media_segment`] with the sample encryption boxes of an encrypted track after
/// `trun`: `saiz`, `saio` (one offset, from the start of `moof`) and `senc`. Without
/// `encryption` the output is [`write_media_segment`]'s.
pub fn write_media_segment_with(
    out: &mut Vec<u8>,
    sequence_number: u32,
    base_media_decode_time: u64,
    samples: &[SampleInfo],
    encryption: Option<SampleEncryption<'_>>,
    write_mdat: impl FnOnce(&mut Vec<u8>),
) -> Result<(), MuxError> {
    if samples.is_empty() {
        return Err(MuxError::NoSamples);
    }
    let declared: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
    let all_sync = samples.iter().all(|s| s.is_sync);
    let with_offsets = samples.iter().any(|s| s.composition_offset != 0);
    let sample_count = u32::try_from(samples.len()).map_err(|_| MuxError::OutOfRange {
        field: "trun sample_count",
    })?;

    let mut w = BoxWriter::new(out);
    write_styp(&mut w)?;
    let moof_start = w.position();
    let data_offset = w.boxed(b"moof", |w| {
        w.full_box(b"mfhd", 0, 0, |w| {
            w.u32(sequence_number);
            Ok(())
        })?;
        for pssh in encryption.iter().flat_map(|e| e.moof_pssh) {
            w.bytes(pssh);
        }
        w.boxed(b"traf", |w| {
            let mut tfhd_flags = TFHD_DEFAULT_BASE_IS_MOOF;
            if all_sync {
                tfhd_flags |= TFHD_DEFAULT_SAMPLE_FLAGS_PRESENT;
            }
            w.full_box(b"tfhd", 0, tfhd_flags, |w| {
                w.u32(TRACK_ID);
                if all_sync {
                    w.u32(SYNC_SAMPLE_FLAGS); // default_sample_flags
                }
                Ok(())
            })?;
            w.full_box(b"tfdt", 1, 0, |w| {
                w.u64(base_media_decode_time);
                Ok(())
            })?;
            let mut trun_flags =
                TRUN_DATA_OFFSET_PRESENT | TRUN_SAMPLE_DURATION_PRESENT | TRUN_SAMPLE_SIZE_PRESENT;
            if !all_sync {
                trun_flags |= TRUN_SAMPLE_FLAGS_PRESENT;
            }
            if with_offsets {
                trun_flags |= TRUN_SAMPLE_COMPOSITION_TIME_OFFSETS_PRESENT;
            }
            let version = u8::from(with_offsets);
            let data_offset = w.full_box(b"trun", version, trun_flags, |w| {
                w.u32(sample_count);
                let data_offset = w.slot_u32();
                for s in samples {
                    w.u32(s.duration);
                    w.u32(s.size);
                    if !all_sync {
                        w.u32(if s.is_sync {
                            SYNC_SAMPLE_FLAGS
                        } else {
                            NON_SYNC_SAMPLE_FLAGS
                        });
                    }
                    if with_offsets {
                        w.i32(s.composition_offset);
                    }
                }
                Ok(data_offset)
            })?;
            if let Some(e) = encryption {
                write_sample_encryption(w, moof_start, sample_count, &e)?;
            }
            Ok(data_offset)
        })
    })?;
    // data_offset counts from the first byte of moof (default-base-is-moof) to the first
    // sample byte, just after the 8-byte mdat header.
    let moof_size = w.position() - moof_start;
    let offset =
        u32::try_from(moof_size + 8).map_err(|_| MuxError::TooLarge { box_type: *b"moof" })?;
    w.patch_u32(data_offset, offset);
    let mdat_size =
        u32::try_from(declared + 8).map_err(|_| MuxError::TooLarge { box_type: *b"mdat" })?;
    w.u32(mdat_size);
    w.bytes(b"mdat");
    let before = out.len();
    out.reserve(usize::try_from(declared).unwrap_or(0));
    write_mdat(out);
    let written = crate::media::reader::len_u64(out.len() - before);
    if written != declared {
        return Err(MuxError::SampleSizeMismatch { declared, written });
    }
    Ok(())
}

/// `saiz` (14496-12 8.7.8), `saio` (8.7.9) and `senc` (ISO/IEC 23001-7 7.2.1) of one
/// fragment; `saiz` and `saio` only when the entries are not all empty. `saio`'s offset is patched to the first entry byte in `senc`, counted from
/// `moof_start` (the `tfhd` says default-base-is-moof).
fn write_sample_encryption(
    w: &mut BoxWriter<'_>,
    moof_start: usize,
    sample_count: u32,
    e: &SampleEncryption<'_>,
) -> Result<(), MuxError> {
    if e.sizes.len() != usize::try_from(sample_count).unwrap_or(usize::MAX) {
        return Err(MuxError::OutOfRange {
            field: "saiz sample_count",
        });
    }
    let first = e.sizes.first().copied().unwrap_or(0);
    let uniform = e.sizes.iter().all(|&s| s == first);
    // Empty auxiliary information (a constant IV and no subsamples: `cbcs` audio) is omitted
    // (ISO/IEC 23001-7 7.1): no `saiz` or `saio`, `senc` with empty entries.
    let offset = if uniform && first == 0 {
        None
    } else {
        w.full_box(b"saiz", 0, 0, |w| {
            // Uniform sizes use default_sample_info_size; 0 there means "listed per sample".
            w.u8(if uniform { first } else { 0 });
            w.u32(sample_count);
            if !uniform {
                w.bytes(e.sizes);
            }
            Ok(())
        })?;
        Some(w.full_box(b"saio", 0, 0, |w| {
            w.u32(1); // entry_count
            Ok(w.slot_u32())
        })?)
    };
    let flags = if e.use_subsamples {
        SENC_USE_SUBSAMPLES
    } else {
        0
    };
    w.full_box(b"senc", 0, flags, |w| {
        w.u32(sample_count);
        let first_entry = w.position() - moof_start;
        let first_entry =
            u32::try_from(first_entry).map_err(|_| MuxError::TooLarge { box_type: *b"moof" })?;
        if let Some(offset) = offset {
            w.patch_u32(offset, first_entry);
        }
        w.bytes(e.entries);
        Ok(())
    })?;
    if let Some(entry) = e.seig {
        write_seig_group(w, sample_count, entry)?;
    }
    Ok(())
}

/// `sbgp` (14496-12 8.9.2) mapping all `sample_count` samples to the one `seig` entry of the
/// fragment's own `sgpd` (8.9.3, version 1 with `default_length`).
fn write_seig_group(
    w: &mut BoxWriter<'_>,
    sample_count: u32,
    entry: &[u8],
) -> Result<(), MuxError> {
    let length = u32::try_from(entry.len()).map_err(|_| MuxError::OutOfRange {
        field: "sgpd default_length",
    })?;
    w.full_box(b"sbgp", 0, 0, |w| {
        w.bytes(b"seig"); // grouping_type
        w.u32(1); // entry_count
        w.u32(sample_count);
        w.u32(FRAGMENT_LOCAL_GROUP);
        Ok(())
    })?;
    w.full_box(b"sgpd", 1, 0, |w| {
        w.bytes(b"seig"); // grouping_type
        w.u32(length); // default_length
        w.u32(1); // entry_count
        w.bytes(entry);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_offset_points_at_mdat_payload() {
        let samples = [
            SampleInfo {
                duration: 3000,
                size: 3,
                is_sync: true,
                composition_offset: 6000,
            },
            SampleInfo {
                duration: 3000,
                size: 2,
                is_sync: false,
                composition_offset: -3000,
            },
        ];
        let mut out = Vec::new();
        write_media_segment(&mut out, 7, 1 << 40, &samples, |m| {
            m.extend_from_slice(&[1, 2, 3, 4, 5])
        })
        .unwrap();
        assert_eq!(&out[out.len() - 5..], &[1, 2, 3, 4, 5]);
        let moof = out.windows(4).position(|w| w == b"moof").unwrap() - 4;
        let trun = out.windows(4).position(|w| w == b"trun").unwrap() - 4;
        assert_eq!(out[trun + 8], 1, "trun version 1 for signed offsets");
        let off = u32::from_be_bytes(out[trun + 16..trun + 20].try_into().unwrap());
        assert_eq!(moof + off as usize, out.len() - 5);
    }

    #[test]
    fn size_mismatch_and_empty() {
        let s = [SampleInfo {
            duration: 1024,
            size: 4,
            is_sync: true,
            composition_offset: 0,
        }];
        assert!(matches!(
            write_media_segment(&mut Vec::new(), 1, 0, &s, |m| m.push(0)),
            Err(MuxError::SampleSizeMismatch { .. })
        ));
        assert_eq!(
            write_media_segment(&mut Vec::new(), 1, 0, &[], |_| {}),
            Err(MuxError::NoSamples)
        );
    }
}
