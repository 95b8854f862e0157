//! The FLV header and tags (Adobe Flash Video File Format Specification v10.1, Annex E.2 to
//! E.4): the tag writer patches `DataSize` once the body is written and appends
//! `PreviousTagSize`.

use super::FlvError;

/// `TagType` of audio tags (E.4.1).
pub const TAG_TYPE_AUDIO: u8 = 8;
/// `TagType` of video tags.
pub const TAG_TYPE_VIDEO: u8 = 9;
/// `TagType` of script data tags (`onMetaData`).
pub const TAG_TYPE_SCRIPT_DATA: u8 = 18;

/// Bytes of the FLV header (E.2): the `DataOffset` of version 1.
pub const HEADER_LEN: u32 = 9;
/// Bytes of a tag header: TagType, DataSize, Timestamp, TimestampExtended, StreamID.
pub const TAG_HEADER_LEN: usize = 11;
const TAG_HEADER_LEN_U32: u32 = 11;
/// Largest `DataSize` (UI24).
pub const MAX_DATA_SIZE: usize = 0xFF_FFFF;

/// `TypeFlagsAudio` and `TypeFlagsVideo` of the FLV header.
const TYPE_FLAGS_AUDIO: u8 = 0x04;
const TYPE_FLAGS_VIDEO: u8 = 0x01;

/// `CodecID` 7: AVC (E.4.3.1).
pub const CODEC_ID_AVC: u8 = 7;
/// `SoundFormat` 10: AAC (E.4.2.1).
pub const SOUND_FORMAT_AAC: u8 = 10;
/// `FrameType` 1: key frame (for AVC, a seekable frame).
pub const FRAME_TYPE_KEY: u8 = 1;
/// `FrameType` 2: inter frame.
pub const FRAME_TYPE_INTER: u8 = 2;
/// `AVCPacketType` / `AACPacketType` 0: the decoder configuration.
pub const PACKET_TYPE_SEQUENCE_HEADER: u8 = 0;
/// `AVCPacketType` 1 (NAL units) / `AACPacketType` 1 (raw AAC frame).
pub const PACKET_TYPE_DATA: u8 = 1;

/// The AudioTagHeader byte for AAC: the specification fixes `SoundRate` 3 (44 kHz),
/// `SoundSize` 1 (16-bit) and `SoundType` 1 (stereo) for AAC; the decoder reads the real
/// values from the AudioSpecificConfig.
pub const AAC_AUDIO_TAG_HEADER: u8 = (SOUND_FORMAT_AAC << 4) | (3 << 2) | (1 << 1) | 1;

/// Writes the FLV header (E.2) and `PreviousTagSize0` (E.3, always 0).
pub fn write_header(out: &mut Vec<u8>, audio: bool, video: bool) {
    let mut flags = 0;
    if audio {
        flags |= TYPE_FLAGS_AUDIO;
    }
    if video {
        flags |= TYPE_FLAGS_VIDEO;
    }
    out.extend_from_slice(b"FLV");
    out.push(1); // Version
    out.push(flags);
    out.extend_from_slice(&HEADER_LEN.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
}

/// The three low bytes of `v`, big-endian (UI24 / SI24 in two's complement).
fn u24(v: u32) -> [u8; 3] {
    let [_, a, b, c] = v.to_be_bytes();
    [a, b, c]
}

/// An SI24 (`CompositionTime`), or `None` outside −2^23..2^23.
pub fn si24(v: i32) -> Option<[u8; 3]> {
    const LIMIT: i32 = 1 << 23;
    (-LIMIT..LIMIT).contains(&v).then(|| {
        let [_, a, b, c] = v.to_be_bytes();
        [a, b, c]
    })
}

/// Writes one tag (E.4.1) at `timestamp` (ms: the low 24 bits in `Timestamp`, the high 8 in
/// `TimestampExtended`) whose body `body` appends, then its `PreviousTagSize`. On error nothing
/// is left appended.
pub fn write_tag(
    out: &mut Vec<u8>,
    tag_type: u8,
    timestamp: u32,
    body: impl FnOnce(&mut Vec<u8>),
) -> Result<(), FlvError> {
    let start = out.len();
    let [extended, ..] = timestamp.to_be_bytes();
    out.push(tag_type); // Reserved 0, Filter 0, TagType
    out.extend_from_slice(&[0; 3]); // DataSize, patched below
    out.extend_from_slice(&u24(timestamp));
    out.push(extended);
    out.extend_from_slice(&[0; 3]); // StreamID: always 0
    body(out);
    let data_size = out.len() - start - TAG_HEADER_LEN;
    if data_size > MAX_DATA_SIZE {
        out.truncate(start);
        return Err(FlvError::TagTooLarge { data_size });
    }
    let data_size = u32::try_from(data_size).map_err(|_| FlvError::TagTooLarge { data_size })?;
    out[start + 1..start + 4].copy_from_slice(&u24(data_size));
    // Fits: DataSize is at most 2^24 − 1.
    let previous_tag_size = data_size + TAG_HEADER_LEN_U32;
    out.extend_from_slice(&previous_tag_size.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_flags() {
        let mut out = Vec::new();
        write_header(&mut out, true, true);
        assert_eq!(out, b"FLV\x01\x05\0\0\0\x09\0\0\0\0");
        out.clear();
        write_header(&mut out, false, true);
        assert_eq!(out[4], 0x01);
    }

    #[test]
    fn tag_layout_and_extended_timestamp() {
        let mut out = Vec::new();
        write_tag(&mut out, TAG_TYPE_VIDEO, 0x1234_5678, |b| {
            b.extend_from_slice(&[0xAA, 0xBB])
        })
        .unwrap();
        assert_eq!(
            out,
            [9, 0, 0, 2, 0x34, 0x56, 0x78, 0x12, 0, 0, 0, 0xAA, 0xBB, 0, 0, 0, 13]
        );
    }

    #[test]
    fn si24_range() {
        assert_eq!(si24(-1), Some([0xFF, 0xFF, 0xFF]));
        assert_eq!(si24(67), Some([0, 0, 67]));
        assert_eq!(si24(1 << 23), None);
        assert_eq!(si24(-(1 << 23)), Some([0x80, 0, 0]));
    }

    #[test]
    fn oversized_tag_is_refused_and_removed() {
        let mut out = vec![1, 2, 3];
        let err = write_tag(&mut out, TAG_TYPE_VIDEO, 0, |b| {
            b.resize(b.len() + MAX_DATA_SIZE + 1, 0)
        });
        assert_eq!(
            err,
            Err(FlvError::TagTooLarge {
                data_size: MAX_DATA_SIZE + 1
            })
        );
        assert_eq!(out, [1, 2, 3]);
    }
}
