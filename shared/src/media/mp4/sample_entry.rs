//! Sample entries: `avc1` with `avcC` (ISO/IEC 14496-15 5.4.2), `hvc1` with `hvcC` (8.4.1),
//! `mp4a` with `esds`
//! (ISO/IEC 14496-14 6.7 and ISO/IEC 14496-1 7.2.6.5/7.2.6.6), on the VisualSampleEntry and
//! AudioSampleEntry layouts of ISO/IEC 14496-12 12.1.3 and 12.2.3. An encrypted track's entry
//! is `encv`/`enca` with a `sinf` after the codec's box (ISO/IEC 23001-7 4, 14496-12 8.12).

use super::writer::BoxWriter;
use super::{CodecConfig, MuxError};
use crate::media::codec::aac::AacConfig;
use crate::media::codec::h264::AvcConfig;
use crate::media::codec::hevc::HevcConfig;

/// The SampleEntry header (14496-12 8.5.2): six reserved bytes, data_reference_index 1.
fn sample_entry_header(w: &mut BoxWriter<'_>) {
    w.zeros(6);
    w.u16(1);
}

fn dimension(v: u32, field: &'static str) -> Result<u16, MuxError> {
    u16::try_from(v).map_err(|_| MuxError::OutOfRange { field })
}

/// VisualSampleEntry fields (14496-12 12.1.3.2) after the SampleEntry header.
fn visual_sample_entry(w: &mut BoxWriter<'_>, width: u32, height: u32) -> Result<(), MuxError> {
    w.u16(0); // pre_defined
    w.u16(0); // reserved
    w.zeros(12); // pre_defined[3]
    w.u16(dimension(width, "width")?);
    w.u16(dimension(height, "height")?);
    w.u32(0x0048_0000); // horizresolution, 72 dpi
    w.u32(0x0048_0000); // vertresolution
    w.u32(0); // reserved
    w.u16(1); // frame_count
    w.zeros(32); // compressorname
    w.u16(0x0018); // depth
    w.u16(0xFFFF); // pre_defined = -1
    Ok(())
}

/// The entry's four-character code: `format`, or `protected` with a `sinf` appended when the
/// track is encrypted (`sinf` holds the whole box).
fn entry_type<'a>(format: &'a [u8; 4], protected: &'a [u8; 4], sinf: Option<&[u8]>) -> &'a [u8; 4] {
    if sinf.is_some() {
        protected
    } else {
        format
    }
}

/// `avc1` + `avcC` (ISO/IEC 14496-15 5.4.2.1).
fn write_avc1(w: &mut BoxWriter<'_>, c: &AvcConfig, sinf: Option<&[u8]>) -> Result<(), MuxError> {
    let record = c
        .decoder_configuration_record()
        .map_err(|_| MuxError::OutOfRange {
            field: "avcC parameter set length",
        })?;
    w.boxed(entry_type(b"avc1", b"encv", sinf), |w| {
        sample_entry_header(w);
        visual_sample_entry(w, c.sps.width, c.sps.height)?;
        w.boxed(b"avcC", |w| {
            w.bytes(&record);
            Ok(())
        })?;
        sinf.into_iter().for_each(|s| w.bytes(s));
        Ok(())
    })
}

/// `hvc1` + `hvcC` (ISO/IEC 14496-15 8.4.1.1): parameter sets only in the sample entry.
fn write_hvc1(w: &mut BoxWriter<'_>, c: &HevcConfig, sinf: Option<&[u8]>) -> Result<(), MuxError> {
    let record = c
        .decoder_configuration_record()
        .map_err(|_| MuxError::OutOfRange {
            field: "hvcC parameter set length",
        })?;
    w.boxed(entry_type(b"hvc1", b"encv", sinf), |w| {
        sample_entry_header(w);
        visual_sample_entry(w, c.width, c.height)?;
        w.boxed(b"hvcC", |w| {
            w.bytes(&record);
            Ok(())
        })?;
        sinf.into_iter().for_each(|s| w.bytes(s));
        Ok(())
    })
}

/// An expandable descriptor length (ISO/IEC 14496-1 8.3.3), minimal number of bytes.
fn descriptor_length(w: &mut BoxWriter<'_>, len: usize) -> Result<(), MuxError> {
    let len = u32::try_from(len)
        .ok()
        .filter(|&l| l < 1 << 28)
        .ok_or(MuxError::OutOfRange {
            field: "descriptor length",
        })?;
    let mut shift = 21;
    while shift > 0 && len >> shift == 0 {
        shift -= 7;
    }
    while shift > 0 {
        w.u8(0x80 | ((len >> shift) & 0x7F).to_be_bytes()[3]);
        shift -= 7;
    }
    w.u8((len & 0x7F).to_be_bytes()[3]);
    Ok(())
}

/// A descriptor: tag, expandable length, body (ISO/IEC 14496-1 7.2.2.2 BaseDescriptor).
fn descriptor(w: &mut BoxWriter<'_>, tag: u8, body: &[u8]) -> Result<(), MuxError> {
    w.u8(tag);
    descriptor_length(w, body.len())?;
    w.bytes(body);
    Ok(())
}

/// Tags of ISO/IEC 14496-1 Table 1.
const ES_DESCR_TAG: u8 = 0x03;
const DECODER_CONFIG_DESCR_TAG: u8 = 0x04;
const DEC_SPECIFIC_INFO_TAG: u8 = 0x05;
const SL_CONFIG_DESCR_TAG: u8 = 0x06;
/// objectTypeIndication for MPEG-4 Audio (ISO/IEC 14496-1 Table 5).
const OBJECT_TYPE_MPEG4_AUDIO: u8 = 0x40;
/// streamType AudioStream (Table 6) << 2 | upStream 0 | reserved 1.
const STREAM_TYPE_AUDIO: u8 = (0x05 << 2) | 1;

/// The ES_Descriptor of an `esds` box for AAC: DecoderConfigDescriptor with the
/// AudioSpecificConfig, and the predefined MP4 SLConfigDescriptor.
fn es_descriptor(c: &AacConfig) -> Result<Vec<u8>, MuxError> {
    let mut decoder_config = Vec::new();
    let mut w = BoxWriter::new(&mut decoder_config);
    w.u8(OBJECT_TYPE_MPEG4_AUDIO);
    w.u8(STREAM_TYPE_AUDIO);
    w.bytes(&[0, 0, 0]); // bufferSizeDB
    w.u32(0); // maxBitrate: unknown; the init segment must not depend on one media segment
    w.u32(0); // avgBitrate
    descriptor(&mut w, DEC_SPECIFIC_INFO_TAG, &c.audio_specific_config())?;

    let mut es = Vec::new();
    let mut w = BoxWriter::new(&mut es);
    w.u16(0); // ES_ID: 0 in files (ISO/IEC 14496-14 3.1.2)
    w.u8(0); // streamDependenceFlag, URL_Flag, OCRstreamFlag, streamPriority
    descriptor(&mut w, DECODER_CONFIG_DESCR_TAG, &decoder_config)?;
    descriptor(&mut w, SL_CONFIG_DESCR_TAG, &[0x02])?; // predefined = 2 (MP4)
    Ok(es)
}

/// `mp4a` + `esds` (ISO/IEC 14496-14 6.7.2).
fn write_mp4a(w: &mut BoxWriter<'_>, c: &AacConfig, sinf: Option<&[u8]>) -> Result<(), MuxError> {
    let es = es_descriptor(c)?;
    w.boxed(entry_type(b"mp4a", b"enca", sinf), |w| {
        sample_entry_header(w);
        w.zeros(8); // reserved
        w.u16(u16::from(c.channels()));
        w.u16(16); // samplesize
        w.u16(0); // pre_defined
        w.u16(0); // reserved
                  // samplerate is 16.16; rates above 65535 Hz do not fit and are written as 0.
        w.u32(u16::try_from(c.sample_rate()).map_or(0, |r| u32::from(r) << 16));
        w.full_box(b"esds", 0, 0, |w| descriptor(w, ES_DESCR_TAG, &es))?;
        sinf.into_iter().for_each(|s| w.bytes(s));
        Ok(())
    })
}

/// The single entry of `stsd` for a track's codec; `encv`/`enca` ending with `sinf` (a
/// complete box) when the track is encrypted.
pub fn write_sample_entry(
    w: &mut BoxWriter<'_>,
    codec: &CodecConfig,
    sinf: Option<&[u8]>,
) -> Result<(), MuxError> {
    match codec {
        CodecConfig::Avc(c) => write_avc1(w, c, sinf),
        CodecConfig::Hevc(c) => write_hvc1(w, c, sinf),
        CodecConfig::Aac(c) => write_mp4a(w, c, sinf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_lengths() {
        for (len, bytes) in [
            (5usize, vec![5u8]),
            (127, vec![127]),
            (128, vec![0x81, 0x00]),
            (300, vec![0x82, 0x2C]),
        ] {
            let mut out = Vec::new();
            descriptor_length(&mut BoxWriter::new(&mut out), len).unwrap();
            assert_eq!(out, bytes, "{len}");
        }
    }
}
