//! The master playlist an input received, kept as our own serializable record
//! (RFC 8216bis 4.4.6).

use crate::error::{OriginError, OriginResult};
use crate::names::Rendition;
use crate::paths::{self, rendition_id};
use m3u8_rs::{AlternativeMediaType, MasterPlaylist};
use serde::{Deserialize, Serialize};

/// Most variants or alternative renditions accepted in one master playlist.
pub const MAX_RENDITIONS: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Rendition id: the media playlist's path below the input base, without `.m3u8`.
    pub rendition: Rendition,
    pub bandwidth: u64,
    pub average_bandwidth: Option<u64>,
    pub codecs: Option<String>,
    pub resolution: Option<(u64, u64)>,
    pub frame_rate: Option<f64>,
    pub audio: Option<String>,
}

impl Variant {
    /// A variant carries video unless its codecs name audio only.
    pub fn has_video(&self) -> bool {
        match &self.codecs {
            Some(c) => c.split(',').any(|c| {
                !c.trim().starts_with("mp4a")
                    && !c.trim().starts_with("ac-3")
                    && !c.trim().starts_with("ec-3")
            }),
            None => true,
        }
    }
}

/// An EXT-X-MEDIA entry of type AUDIO (other types are not carried over yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioMedia {
    pub rendition: Option<Rendition>,
    pub group_id: String,
    pub name: String,
    pub language: Option<String>,
    pub default: bool,
    pub autoselect: bool,
    pub channels: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MasterInfo {
    /// The encoder declared EXT-X-INDEPENDENT-SEGMENTS (every segment starts with a keyframe).
    #[serde(default)]
    pub independent_segments: bool,
    pub variants: Vec<Variant>,
    pub audio: Vec<AudioMedia>,
}

impl MasterInfo {
    pub fn from_playlist(master_path: &str, pl: &MasterPlaylist) -> OriginResult<MasterInfo> {
        if pl.variants.len() + pl.alternatives.len() > MAX_RENDITIONS {
            return Err(OriginError::MalformedPlaylist(format!(
                "more than {MAX_RENDITIONS} renditions"
            )));
        }
        let rendition = |uri: &str| -> OriginResult<Rendition> {
            let p = paths::resolve(master_path, uri)?;
            if paths::extension(&p) != "m3u8" {
                return Err(OriginError::MalformedPlaylist(format!(
                    "variant URI `{p}` is not a .m3u8 media playlist"
                )));
            }
            rendition_id(&p).ok_or_else(|| {
                OriginError::MalformedPlaylist(format!("variant URI `{p}` names no rendition"))
            })
        };
        let mut info = MasterInfo {
            independent_segments: pl.independent_segments,
            ..MasterInfo::default()
        };
        for v in pl.variants.iter().filter(|v| !v.is_i_frame) {
            info.variants.push(Variant {
                rendition: rendition(&v.uri)?,
                bandwidth: v.bandwidth,
                average_bandwidth: v.average_bandwidth,
                codecs: v.codecs.clone(),
                resolution: v.resolution.map(|r| (r.width, r.height)),
                frame_rate: v
                    .frame_rate
                    .filter(|f| f.is_finite() && *f > 0.0 && *f <= 1000.0),
                audio: v.audio.clone(),
            });
        }
        for m in &pl.alternatives {
            if m.media_type != AlternativeMediaType::Audio {
                continue;
            }
            info.audio.push(AudioMedia {
                rendition: m.uri.as_deref().map(rendition).transpose()?,
                group_id: m.group_id.clone(),
                name: m.name.clone(),
                language: m.language.clone(),
                default: m.default,
                autoselect: m.autoselect,
                channels: m.channels.clone(),
            });
        }
        if info.variants.is_empty() {
            return Err(OriginError::MalformedPlaylist(
                "master playlist has no variant".into(),
            ));
        }
        Ok(info)
    }
}
