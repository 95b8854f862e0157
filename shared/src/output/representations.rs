//! The tracks a CMAF endpoint (HLS-CMAF, DASH) offers: one video representation per input
//! rendition with video, and audio representations from the input's audio-only renditions or,
//! when it has none, the audio of its first video rendition. One track per CMAF file.

use crate::hls::master::MasterInfo;
use crate::media::mp4::TrackKind;
use crate::model::{Endpoint, StreamOrder};
use crate::names::Rendition;
use crate::timeline::TrackInfo;
use std::collections::BTreeMap;

/// One representation: a track of a rendition.
#[derive(Debug, Clone, PartialEq)]
pub struct Rep<'a> {
    pub rendition: &'a Rendition,
    pub info: &'a TrackInfo,
    /// Peak bits per second; for video, of the variant including its audio (HLS BANDWIDTH).
    pub bandwidth: u64,
    pub frame_rate: Option<f64>,
    /// Audio: the rendition's name, language and default flag from the encoder's master.
    pub name: String,
    pub language: Option<String>,
    pub default: bool,
}

impl Rep<'_> {
    pub fn kind(&self) -> TrackKind {
        self.info.kind
    }

    /// DASH `Representation@id`: the rendition path with `/` made safe, and the track kind.
    pub fn id(&self) -> String {
        format!(
            "{}-{}",
            self.rendition.replace('/', "_"),
            self.info.kind.name()
        )
    }
}

/// Video representations (filtered and ordered as the endpoint says) and audio ones.
pub fn representations<'a>(
    tracks: &'a BTreeMap<Rendition, Vec<TrackInfo>>,
    master: Option<&'a MasterInfo>,
    endpoint: &Endpoint,
) -> (Vec<Rep<'a>>, Vec<Rep<'a>>) {
    let find = |r: &str, k: TrackKind| tracks.get(r).and_then(|t| t.iter().find(|i| i.kind == k));
    // Renditions in the encoder's master order first, then any others in key order.
    let mut order: Vec<&'a Rendition> = Vec::new();
    if let Some(m) = master {
        order.extend(m.variants.iter().map(|v| &v.rendition));
        order.extend(m.audio.iter().filter_map(|a| a.rendition.as_ref()));
    }
    order.extend(tracks.keys());
    let mut seen = Vec::new();
    order.retain(|r| {
        tracks.contains_key(*r) && !seen.contains(r) && {
            seen.push(*r);
            true
        }
    });

    let mut audio: Vec<Rep<'a>> = Vec::new();
    for r in order.iter().filter(|r| find(r, TrackKind::Video).is_none()) {
        if let Some(info) = find(r, TrackKind::Audio) {
            let declared =
                master.and_then(|m| m.audio.iter().find(|a| a.rendition.as_ref() == Some(*r)));
            audio.push(Rep {
                rendition: r,
                info,
                bandwidth: info.bitrate,
                frame_rate: None,
                name: declared.map_or_else(|| format!("audio_{}", audio.len()), |a| a.name.clone()),
                language: declared.and_then(|a| a.language.clone()),
                default: declared.map_or(audio.is_empty(), |a| a.default),
            });
        }
    }
    if audio.is_empty() {
        if let Some((r, info)) = order
            .iter()
            .find_map(|r| Some((*r, find(r, TrackKind::Audio)?)))
        {
            audio.push(Rep {
                rendition: r,
                info,
                bandwidth: info.bitrate,
                frame_rate: None,
                name: "audio".into(),
                language: None,
                default: true,
            });
        }
    }
    let audio_peak = audio.iter().map(|a| a.bandwidth).max().unwrap_or(0);

    let mut video: Vec<Rep<'a>> = order
        .iter()
        .filter_map(|r| {
            let info = find(r, TrackKind::Video)?;
            let declared = master.and_then(|m| m.variants.iter().find(|v| v.rendition == **r));
            Some(Rep {
                rendition: r,
                info,
                bandwidth: declared.map_or(info.bitrate + audio_peak, |v| v.bandwidth),
                frame_rate: declared
                    .and_then(|v| v.frame_rate)
                    .or_else(|| info.frames_per_ks.map(|f| f as f64 / 1000.0)),
                name: String::new(),
                language: None,
                default: false,
            })
        })
        .filter(|v| {
            (endpoint.min_video_bitrate..=endpoint.max_video_bitrate).contains(&v.bandwidth)
        })
        .collect();
    match endpoint.stream_order {
        StreamOrder::Original => {}
        StreamOrder::Ascending => video.sort_by_key(|v| v.bandwidth),
        StreamOrder::Descending => video.sort_by_key(|v| std::cmp::Reverse(v.bandwidth)),
    }
    (video, audio)
}
