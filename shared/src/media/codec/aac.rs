//! AAC in ADTS (ISO/IEC 13818-7 6.2, Table 5) and the MPEG-4 AudioSpecificConfig
//! (ISO/IEC 14496-3 1.6.2.1).

use super::CodecError;

/// `sampling_frequency_index` → Hz (ISO/IEC 14496-3 Table 1.18).
const SAMPLING_FREQUENCIES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// PCM samples per channel in one AAC frame (1024 for AAC-LC with frameLengthFlag 0).
pub const SAMPLES_PER_FRAME: u32 = 1024;

/// The stream parameters an ADTS header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AacConfig {
    /// MPEG-4 audioObjectType (ADTS `profile` + 1): 2 = AAC-LC.
    pub audio_object_type: u8,
    pub sampling_frequency_index: u8,
    pub channel_configuration: u8,
}

impl AacConfig {
    pub fn sample_rate(&self) -> u32 {
        SAMPLING_FREQUENCIES
            .get(usize::from(self.sampling_frequency_index))
            .copied()
            .unwrap_or(0)
    }

    pub fn channels(&self) -> u8 {
        // channel_configuration 7 is 7.1 (8 channels); 1-6 map to themselves.
        match self.channel_configuration {
            7 => 8,
            c => c,
        }
    }

    /// RFC 6381 3.3 `codecs` value, e.g. `mp4a.40.2`.
    pub fn codec_string(&self) -> String {
        format!("mp4a.40.{}", self.audio_object_type)
    }

    /// AudioSpecificConfig with GASpecificConfig (frameLengthFlag, dependsOnCoreCoder and
    /// extensionFlag all 0): 5 bits object type, 4 bits frequency index, 4 bits channels.
    pub fn audio_specific_config(&self) -> [u8; 2] {
        let v: u16 = (u16::from(self.audio_object_type) << 11)
            | (u16::from(self.sampling_frequency_index) << 7)
            | (u16::from(self.channel_configuration) << 3);
        v.to_be_bytes()
    }
}

/// One ADTS frame: its configuration and the raw_data_block bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdtsFrame<'a> {
    pub config: AacConfig,
    pub raw: &'a [u8],
}

/// Parses the ADTS frame at the start of `data`; returns it and its total length.
pub fn parse_adts(data: &[u8]) -> Result<(AdtsFrame<'_>, usize), CodecError> {
    let h = data.get(..7).ok_or(CodecError::Truncated {
        what: "ADTS header",
    })?;
    if h[0] != 0xFF || h[1] & 0xF0 != 0xF0 {
        return Err(CodecError::Malformed {
            what: "ADTS syncword",
        });
    }
    let protection_absent = h[1] & 0x1 != 0;
    let profile = h[2] >> 6;
    let sampling_frequency_index = (h[2] >> 2) & 0xF;
    let channel_configuration = ((h[2] & 0x1) << 2) | (h[3] >> 6);
    let frame_length =
        (usize::from(h[3] & 0x3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
    let number_of_raw_data_blocks_in_frame = h[6] & 0x3;
    let header_len = if protection_absent { 7 } else { 9 };
    if usize::from(sampling_frequency_index) >= SAMPLING_FREQUENCIES.len() {
        return Err(CodecError::Malformed {
            what: "ADTS sampling_frequency_index",
        });
    }
    if channel_configuration == 0 {
        return Err(CodecError::Unsupported {
            what: "ADTS channel_configuration 0 (program_config_element)",
        });
    }
    if number_of_raw_data_blocks_in_frame != 0 {
        return Err(CodecError::Unsupported {
            what: "ADTS frame with several raw_data_blocks",
        });
    }
    if frame_length < header_len {
        return Err(CodecError::Malformed {
            what: "ADTS aac_frame_length",
        });
    }
    let raw = data
        .get(header_len..frame_length)
        .ok_or(CodecError::Truncated { what: "ADTS frame" })?;
    let config = AacConfig {
        audio_object_type: profile + 1,
        sampling_frequency_index,
        channel_configuration,
    };
    Ok((AdtsFrame { config, raw }, frame_length))
}

/// Iterates the ADTS frames of a PES payload as (offset of the raw data in the input, frame);
/// stops at the first error, which it yields.
#[derive(Debug, Clone)]
pub struct AdtsFrames<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> AdtsFrames<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        AdtsFrames { data, pos: 0 }
    }
}

impl<'a> Iterator for AdtsFrames<'a> {
    type Item = Result<(usize, AdtsFrame<'a>), CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.pos..).filter(|r| !r.is_empty())?;
        match parse_adts(rest) {
            Ok((frame, len)) => {
                let raw_offset = self.pos + (len - frame.raw.len());
                self.pos += len;
                Some(Ok((raw_offset, frame)))
            }
            Err(e) => {
                self.pos = self.data.len();
                Some(Err(e))
            }
        }
    }
}

/// audioObjectType values of ISO/IEC 14496-3 Table 1.17 that need care when reading an
/// AudioSpecificConfig.
mod object_type {
    /// SBR: explicit HE-AAC signalling; the core object type follows.
    pub const SBR: u8 = 5;
    /// PS: explicit HE-AAC v2 signalling; the core object type follows.
    pub const PS: u8 = 29;
    /// Escape to a 6-bit extension.
    pub const ESCAPE: u8 = 31;
}

/// `sampling_frequency_index` escape: a 24-bit frequency follows (Table 1.18).
const EXPLICIT_FREQUENCY: u32 = 0xF;

/// Largest `aac_frame_length` of an ADTS frame (13 bits, ISO/IEC 13818-7 6.2.1).
pub const MAX_ADTS_FRAME_LENGTH: usize = (1 << 13) - 1;

/// Length of an ADTS header without CRC (`protection_absent` = 1).
pub const ADTS_HEADER_LEN: usize = 7;

impl AacConfig {
    /// Reads an AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), as carried in `esds`.
    /// Explicit HE-AAC signalling (object type 5 or 29) yields the core AAC configuration, the
    /// way ADTS signals HE-AAC implicitly. Object types ADTS cannot carry (above 4), explicit
    /// frequencies and channel_configuration 0 (a program_config_element) are unsupported.
    pub fn from_audio_specific_config(asc: &[u8]) -> Result<Self, CodecError> {
        let mut r = super::bits::BitReader::new(asc, "AudioSpecificConfig");
        let mut audio_object_type = r.bits(5)?;
        let sampling_frequency_index = r.bits(4)?;
        if sampling_frequency_index == EXPLICIT_FREQUENCY {
            return Err(CodecError::Unsupported {
                what: "AudioSpecificConfig with an explicit samplingFrequency",
            });
        }
        let channel_configuration = r.bits(4)?;
        if audio_object_type == u32::from(object_type::SBR)
            || audio_object_type == u32::from(object_type::PS)
        {
            let extension_sampling_frequency_index = r.bits(4)?;
            if extension_sampling_frequency_index == EXPLICIT_FREQUENCY {
                r.bits(24)?;
            }
            audio_object_type = r.bits(5)?;
        }
        if audio_object_type == u32::from(object_type::ESCAPE) {
            return Err(CodecError::Unsupported {
                what: "AudioSpecificConfig audioObjectType beyond 31",
            });
        }
        let config = AacConfig {
            audio_object_type: u8::try_from(audio_object_type).unwrap_or(0),
            sampling_frequency_index: u8::try_from(sampling_frequency_index).unwrap_or(0xF),
            channel_configuration: u8::try_from(channel_configuration).unwrap_or(0),
        };
        if !(1..=4).contains(&config.audio_object_type) {
            return Err(CodecError::Unsupported {
                what: "AAC audioObjectType that ADTS cannot carry (not 1-4)",
            });
        }
        if usize::from(config.sampling_frequency_index) >= SAMPLING_FREQUENCIES.len() {
            return Err(CodecError::Malformed {
                what: "AudioSpecificConfig samplingFrequencyIndex",
            });
        }
        if config.channel_configuration == 0 {
            return Err(CodecError::Unsupported {
                what: "AudioSpecificConfig channelConfiguration 0 (program_config_element)",
            });
        }
        Ok(config)
    }

    /// The 7-byte ADTS header (ISO/IEC 13818-7 6.2.1, no CRC) of a frame whose
    /// raw_data_block is `raw_len` bytes; `adts_buffer_fullness` 0x7FF (variable rate).
    pub fn adts_header(&self, raw_len: usize) -> Result<[u8; ADTS_HEADER_LEN], CodecError> {
        let frame_length = raw_len
            .checked_add(ADTS_HEADER_LEN)
            .filter(|&l| l <= MAX_ADTS_FRAME_LENGTH)
            .ok_or(CodecError::Unsupported {
                what: "AAC frame longer than an ADTS frame can be",
            })?;
        let profile = self.audio_object_type.wrapping_sub(1);
        if profile > 3 || self.sampling_frequency_index > 0xF || self.channel_configuration > 7 {
            return Err(CodecError::Unsupported {
                what: "AAC configuration that ADTS cannot carry",
            });
        }
        // frame_length has 13 bits (checked above): bits 12-11 in byte 3, 10-3 in byte 4,
        // 2-0 at the top of byte 5.
        let l = u16::try_from(frame_length).unwrap_or(0);
        let low_byte = |v: u16| v.to_be_bytes()[1];
        let sfi = self.sampling_frequency_index;
        let ch = self.channel_configuration;
        Ok([
            0xFF,
            0xF1, // syncword, ID 0 (MPEG-4), layer 00, protection_absent 1
            (profile << 6) | (sfi << 2) | (ch >> 2),
            ((ch & 0x3) << 6) | low_byte((l >> 11) & 0x3),
            low_byte((l >> 3) & 0xFF),
            low_byte((l & 0x7) << 5) | 0x1F, // adts_buffer_fullness 0x7FF, high bits
            0xFC, // adts_buffer_fullness low bits, number_of_raw_data_blocks_in_frame 0
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adts(len: usize) -> Vec<u8> {
        // AAC-LC, 48 kHz (index 3), stereo, no CRC.
        let mut h = vec![0xFF, 0xF1, 0x4C, 0x80, 0, 0, 0xFC];
        h[3] |= ((len >> 11) & 0x3) as u8;
        h[4] = ((len >> 3) & 0xFF) as u8;
        h[5] = (((len & 0x7) << 5) as u8) | 0x1F;
        h.resize(len, 0xAA);
        h
    }

    #[test]
    fn lc_48k_stereo() {
        let mut data = adts(20);
        data.extend(adts(30));
        let frames: Vec<_> = AdtsFrames::new(&data).collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].0, frames[1].0), (7, 27));
        let frames: Vec<_> = frames.into_iter().map(|(_, f)| f).collect();
        assert_eq!(frames[0].raw.len(), 13);
        let c = frames[0].config;
        assert_eq!((c.sample_rate(), c.channels()), (48_000, 2));
        assert_eq!(c.codec_string(), "mp4a.40.2");
        assert_eq!(c.audio_specific_config(), [0x11, 0x90]);
    }

    #[test]
    fn truncated_and_bad() {
        let data = adts(20);
        assert!(matches!(
            parse_adts(&data[..19]),
            Err(CodecError::Truncated { .. })
        ));
        assert!(matches!(
            parse_adts(&data[..5]),
            Err(CodecError::Truncated { .. })
        ));
        let mut bad = data.clone();
        bad[0] = 0;
        assert!(matches!(
            parse_adts(&bad),
            Err(CodecError::Malformed { .. })
        ));
        let mut short = data;
        short[4] = 0;
        short[5] &= 0x1F;
        assert!(parse_adts(&short).is_err());
    }
}
