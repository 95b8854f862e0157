//! Sample entries (ISO/IEC 14496-12 8.5.2) of the codecs we carry: `avc1`/`avc3` with
//! `avcC` (ISO/IEC 14496-15 5.4.2), `hvc1`/`hev1` with `hvcC` (8.4.1), `mp4a` with `esds`
//! (ISO/IEC 14496-14 6.7, descriptors of ISO/IEC 14496-1 7.2.6).

use super::boxes::BoxRef;
use super::Fmp4Error;
use crate::media::codec::aac::AacConfig;
use crate::media::codec::h264::AvcConfig;
use crate::media::codec::hevc::HevcConfig;
use crate::media::mp4::CodecConfig;
use crate::media::reader::{len_u64, Reader};

/// Bytes of a VisualSampleEntry before its child boxes: the SampleEntry header (8) and the
/// visual fields (70; 14496-12 12.1.3.2).
const VISUAL_SAMPLE_ENTRY_LEN: usize = 78;
/// Bytes of an AudioSampleEntry before its child boxes (8 + 20; 14496-12 12.2.3.2), and
/// what QuickTime sound description versions 1 and 2 add (some muxers write them in MP4).
const AUDIO_SAMPLE_ENTRY_LEN: usize = 28;
const SOUND_DESCRIPTION_V1_EXTRA: usize = 16;
const SOUND_DESCRIPTION_V2_EXTRA: usize = 36;

/// Descriptor tags (ISO/IEC 14496-1 Table 1).
const ES_DESCR_TAG: u8 = 0x03;
const DECODER_CONFIG_DESCR_TAG: u8 = 0x04;
const DEC_SPECIFIC_INFO_TAG: u8 = 0x05;
/// objectTypeIndication values for AAC (ISO/IEC 14496-1 Table 5; MP4RA): MPEG-4 Audio, and
/// MPEG-2 AAC Main, LC and SSR (audioObjectType 1, 2, 3).
const OBJECT_TYPE_MPEG4_AUDIO: u8 = 0x40;
const OBJECT_TYPE_MPEG2_AAC_MAIN: u8 = 0x66;
const OBJECT_TYPE_MPEG2_AAC_SSR: u8 = 0x68;

/// The codec of a sample entry and the NAL unit length size of its samples (4 for audio).
#[derive(Debug)]
pub(super) struct Entry {
    pub codec: CodecConfig,
    pub nal_length_size: u8,
}

/// Reads a supported sample entry; anything else is [`Fmp4Error::Unsupported`].
pub(super) fn parse_sample_entry(entry: &BoxRef<'_>, track_id: u32) -> Result<Entry, Fmp4Error> {
    let codec_error = |box_type: [u8; 4]| {
        move |error| Fmp4Error::Codec {
            track_id,
            box_type,
            error,
        }
    };
    match &entry.box_type {
        b"avc1" | b"avc3" => {
            let avcc = required_child(entry, VISUAL_SAMPLE_ENTRY_LEN, b"avcC")?;
            let (config, nal_length_size) = AvcConfig::from_decoder_configuration_record(avcc.body)
                .map_err(codec_error(*b"avcC"))?;
            Ok(Entry {
                codec: CodecConfig::Avc(config),
                nal_length_size,
            })
        }
        b"hvc1" | b"hev1" => {
            let hvcc = required_child(entry, VISUAL_SAMPLE_ENTRY_LEN, b"hvcC")?;
            let (config, nal_length_size) =
                HevcConfig::from_decoder_configuration_record(hvcc.body)
                    .map_err(codec_error(*b"hvcC"))?;
            Ok(Entry {
                codec: CodecConfig::Hevc(config),
                nal_length_size,
            })
        }
        b"mp4a" => {
            // The first reserved u16 of the AudioSampleEntry is QuickTime's version.
            let version = entry.field(Reader::new(entry.body).take(10))?;
            let skip = AUDIO_SAMPLE_ENTRY_LEN
                + match u16::from_be_bytes([version[8], version[9]]) {
                    0 => 0,
                    1 => SOUND_DESCRIPTION_V1_EXTRA,
                    2 => SOUND_DESCRIPTION_V2_EXTRA,
                    _ => return Err(entry.unsupported("mp4a sound description version")),
                };
            let esds = required_child(entry, skip, b"esds")?;
            let asc = audio_specific_config(&esds)?;
            let config =
                AacConfig::from_audio_specific_config(asc).map_err(codec_error(*b"esds"))?;
            Ok(Entry {
                codec: CodecConfig::Aac(config),
                nal_length_size: crate::media::sample::DEFAULT_NAL_LENGTH_SIZE,
            })
        }
        b"encv" | b"enca" => Err(entry.unsupported("encrypted track")),
        _ => Err(entry.unsupported("sample entry of a codec we do not carry")),
    }
}

fn required_child<'a>(
    entry: &BoxRef<'a>,
    skip: usize,
    box_type: &[u8; 4],
) -> Result<BoxRef<'a>, Fmp4Error> {
    entry
        .children(skip)?
        .find(box_type)?
        .ok_or(Fmp4Error::MissingBox {
            box_type: *box_type,
            parent: entry.box_type,
            offset: len_u64(entry.offset),
        })
}

/// A descriptor (ISO/IEC 14496-1 7.2.2.2 BaseDescriptor, 8.3.3 expandable size): its tag and
/// a reader over its body.
fn descriptor<'a>(esds: &BoxRef<'_>, r: &mut Reader<'a>) -> Result<(u8, Reader<'a>), Fmp4Error> {
    let tag = esds.field(r.u8())?;
    let mut size: usize = 0;
    // sizeOfInstance: up to four bytes of 7 bits, the top bit saying another byte follows.
    for i in 0..4 {
        let b = esds.field(r.u8())?;
        size = (size << 7) | usize::from(b & 0x7F);
        if b & 0x80 == 0 {
            break;
        }
        if i == 3 {
            return Err(esds.malformed("descriptor size longer than four bytes"));
        }
    }
    let body = esds.field(r.sub(size))?;
    Ok((tag, body))
}

/// Finds the descriptor with `tag` among those left in `r`.
fn find_descriptor<'a>(
    esds: &BoxRef<'_>,
    r: &mut Reader<'a>,
    tag: u8,
) -> Result<Reader<'a>, Fmp4Error> {
    while r.remaining() > 0 {
        let (t, body) = descriptor(esds, r)?;
        if t == tag {
            return Ok(body);
        }
    }
    Err(esds.malformed(match tag {
        ES_DESCR_TAG => "no ES_Descriptor",
        DECODER_CONFIG_DESCR_TAG => "no DecoderConfigDescriptor",
        _ => "no DecoderSpecificInfo (AudioSpecificConfig)",
    }))
}

/// The AudioSpecificConfig in `esds` (ISO/IEC 14496-14 6.7.2): ES_Descriptor (7.2.6.5) →
/// DecoderConfigDescriptor (7.2.6.6) → DecoderSpecificInfo.
fn audio_specific_config<'a>(esds: &BoxRef<'a>) -> Result<&'a [u8], Fmp4Error> {
    let (_version, _flags, mut r) = esds.full()?;
    let mut es = find_descriptor(esds, &mut r, ES_DESCR_TAG)?;
    let _es_id = esds.field(es.u16())?;
    let flags = esds.field(es.u8())?;
    if flags & 0x80 != 0 {
        esds.field(es.skip(2))?; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        let url_length = esds.field(es.u8())?;
        esds.field(es.skip(usize::from(url_length)))?; // URLstring
    }
    if flags & 0x20 != 0 {
        esds.field(es.skip(2))?; // OCR_ES_Id
    }
    let mut config = find_descriptor(esds, &mut es, DECODER_CONFIG_DESCR_TAG)?;
    let object_type_indication = esds.field(config.u8())?;
    if object_type_indication != OBJECT_TYPE_MPEG4_AUDIO
        && !(OBJECT_TYPE_MPEG2_AAC_MAIN..=OBJECT_TYPE_MPEG2_AAC_SSR)
            .contains(&object_type_indication)
    {
        return Err(esds.unsupported("objectTypeIndication other than AAC"));
    }
    // streamType, upStream, reserved (1), bufferSizeDB (3), maxBitrate (4), avgBitrate (4).
    esds.field(config.skip(12))?;
    let info = find_descriptor(esds, &mut config, DEC_SPECIFIC_INFO_TAG)?;
    Ok(info.rest())
}
