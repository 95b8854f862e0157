//! An endpoint: one packaging of a channel (protocol, window, filters).

use super::encryption::{self, Encryption};
use crate::access::AccessControl;
use crate::auth::Random;
use crate::error::{OriginError, OriginResult};
use crate::fields::Fields;
use crate::model::latency::HOLD_BACK;
use crate::names::{Name, NAME_RULE};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;

/// Allowed `segment_count`: segments in a live rendition playlist.
pub const SEGMENT_COUNT: RangeInclusive<u64> = 2..=100;
/// Allowed `program_date_time_interval` in seconds (0 = no EXT-X-PROGRAM-DATE-TIME).
pub const PDT_INTERVAL: RangeInclusive<u64> = 0..=3600;
/// Allowed video bitrate filter values in bits per second.
pub const VIDEO_BITRATE: RangeInclusive<u64> = 0..=2_147_483_647;
/// Allowed output `segment_duration` in seconds (0: the input's own segments).
pub const SEGMENT_DURATION: RangeInclusive<u64> = 0..=30;
/// Allowed DASH `min_buffer_time` in seconds.
pub const MIN_BUFFER_TIME: RangeInclusive<u64> = 1..=30;
/// Allowed DASH `min_update_period` in seconds.
pub const MIN_UPDATE_PERIOD: RangeInclusive<u64> = 1..=3600;
/// Allowed DASH `suggested_presentation_delay` in seconds (`null`: automatic).
pub const PRESENTATION_DELAY: RangeInclusive<u64> = 0..=3600;
/// Allowed `time_shift_days`: how long content stays playable by time-shift (0 = off).
pub const TIME_SHIFT_DAYS: RangeInclusive<u64> = 0..=30;
/// Allowed DASH `manifest_window` (timeShiftBufferDepth) in seconds.
pub const MANIFEST_WINDOW: RangeInclusive<u64> = 1..=3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputProtocol {
    /// HLS with MPEG-TS segments.
    #[serde(rename = "HLS")]
    Hls,
    /// HLS with CMAF (fragmented MP4) segments.
    #[serde(rename = "HLS_CMAF")]
    HlsCmaf,
    /// MPEG-DASH with CMAF segments.
    #[serde(rename = "DASH")]
    Dash,
    /// HTTP-FLV: one long response per viewer (docs/flv.md).
    #[serde(rename = "FLV")]
    Flv,
}

impl OutputProtocol {
    pub const RULE: &'static str = "\"HLS\", \"HLS_CMAF\", \"DASH\" or \"FLV\"";

    pub fn parse(s: &str) -> Option<OutputProtocol> {
        match s {
            "HLS" => Some(OutputProtocol::Hls),
            "HLS_CMAF" => Some(OutputProtocol::HlsCmaf),
            "DASH" => Some(OutputProtocol::Dash),
            "FLV" => Some(OutputProtocol::Flv),
            _ => None,
        }
    }

    pub fn manifest_extension(self) -> &'static str {
        match self {
            OutputProtocol::Hls | OutputProtocol::HlsCmaf => "m3u8",
            OutputProtocol::Dash => "mpd",
            OutputProtocol::Flv => "flv",
        }
    }
}

/// Order of variants in the master playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamOrder {
    Original,
    Ascending,
    Descending,
}

impl StreamOrder {
    pub const RULE: &'static str = "\"original\", \"ascending\" or \"descending\"";

    pub fn parse(s: &str) -> Option<StreamOrder> {
        match s {
            "original" => Some(StreamOrder::Original),
            "ascending" => Some(StreamOrder::Ascending),
            "descending" => Some(StreamOrder::Descending),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub group: Name,
    pub channel: Name,
    pub name: Name,
    pub protocol: OutputProtocol,
    pub manifest_name: Name,
    pub segment_count: u64,
    pub program_date_time_interval: u64,
    pub stream_order: StreamOrder,
    pub min_video_bitrate: u64,
    pub max_video_bitrate: u64,
    /// Output segment duration target in seconds; 0 keeps the input's segments.
    #[serde(default)]
    pub segment_duration: u64,
    /// HLS: audio as its own rendition with audio-only segments.
    #[serde(default)]
    pub audio_separation: bool,
    /// Days of content kept for time-shifted playback and harvest (0 = off).
    #[serde(default)]
    pub time_shift_days: u64,
    /// DASH `timeShiftBufferDepth`, seconds.
    #[serde(default = "default_manifest_window")]
    pub manifest_window: u64,
    /// DASH `minBufferTime`, seconds.
    #[serde(default = "default_min_buffer_time")]
    pub min_buffer_time: u64,
    /// DASH `minimumUpdatePeriod`, seconds.
    #[serde(default = "default_min_update_period")]
    pub min_update_period: u64,
    /// HLS `HOLD-BACK` and `EXT-X-START` of live media playlists, seconds; `None`: automatic
    /// ([`Endpoint::hold_back_s`]).
    #[serde(default)]
    pub hold_back: Option<u64>,
    /// DASH `suggestedPresentationDelay`, seconds; `None`: automatic
    /// ([`Endpoint::presentation_delay_s`]). Stored as `null` when automatic: an endpoint
    /// stored before the setting could be automatic has no `null` and keeps the old default.
    #[serde(default = "legacy_presentation_delay")]
    pub suggested_presentation_delay: Option<u64>,
    #[serde(default, flatten)]
    pub access: AccessControl,
    /// Encryption of the endpoint's media (docs/encryption.md); `None`: clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    pub created_at_ms: u64,
}

impl Endpoint {
    pub fn new(group: Name, channel: Name, name: Name, now_ms: u64) -> Endpoint {
        Endpoint {
            group,
            channel,
            name,
            protocol: OutputProtocol::Hls,
            manifest_name: Name::parse("manifest").expect("constant name is valid"),
            segment_count: 10,
            program_date_time_interval: 0,
            stream_order: StreamOrder::Original,
            min_video_bitrate: 0,
            max_video_bitrate: *VIDEO_BITRATE.end(),
            segment_duration: 0,
            audio_separation: false,
            time_shift_days: 0,
            manifest_window: default_manifest_window(),
            min_buffer_time: default_min_buffer_time(),
            min_update_period: default_min_update_period(),
            hold_back: None,
            suggested_presentation_delay: None,
            access: AccessControl::default(),
            encryption: None,
            created_at_ms: now_ms,
        }
    }

    /// Applies the settings of a POST or PATCH body.
    pub fn apply(&mut self, fields: &mut Fields<'_>) -> OriginResult<()> {
        fields.fixed("name", self.name.as_str())?;
        fields.parsed(
            "protocol",
            OutputProtocol::RULE,
            OutputProtocol::parse,
            &mut self.protocol,
        )?;
        fields.parsed(
            "manifest_name",
            NAME_RULE,
            Name::parse,
            &mut self.manifest_name,
        )?;
        fields.uint("segment_count", SEGMENT_COUNT, &mut self.segment_count)?;
        fields.uint(
            "program_date_time_interval",
            PDT_INTERVAL,
            &mut self.program_date_time_interval,
        )?;
        fields.parsed(
            "stream_order",
            StreamOrder::RULE,
            StreamOrder::parse,
            &mut self.stream_order,
        )?;
        fields.uint(
            "min_video_bitrate",
            VIDEO_BITRATE,
            &mut self.min_video_bitrate,
        )?;
        fields.uint(
            "max_video_bitrate",
            VIDEO_BITRATE,
            &mut self.max_video_bitrate,
        )?;
        fields.uint(
            "segment_duration",
            SEGMENT_DURATION,
            &mut self.segment_duration,
        )?;
        fields.boolean("audio_separation", &mut self.audio_separation)?;
        fields.uint(
            "time_shift_days",
            TIME_SHIFT_DAYS,
            &mut self.time_shift_days,
        )?;
        fields.uint(
            "manifest_window",
            MANIFEST_WINDOW,
            &mut self.manifest_window,
        )?;
        fields.uint(
            "min_buffer_time",
            MIN_BUFFER_TIME,
            &mut self.min_buffer_time,
        )?;
        fields.uint(
            "min_update_period",
            MIN_UPDATE_PERIOD,
            &mut self.min_update_period,
        )?;
        fields.optional_uint("hold_back", HOLD_BACK, &mut self.hold_back)?;
        fields.optional_uint(
            "suggested_presentation_delay",
            PRESENTATION_DELAY,
            &mut self.suggested_presentation_delay,
        )?;
        self.access.apply(fields)?;
        encryption::apply(fields, self.protocol, &mut self.encryption)?;
        fields.read_only(&["group", "channel", "url", "created_at"]);
        if self.min_video_bitrate > self.max_video_bitrate {
            return Err(OriginError::invalid(
                "min_video_bitrate",
                format!("at most max_video_bitrate ({})", self.max_video_bitrate),
            ));
        }
        Ok(())
    }
}

impl Endpoint {
    /// Checks `encryption` against the protocol and fills its generated values; after
    /// [`Endpoint::apply`], before the endpoint is stored.
    /// A static key given in the body is sealed with `key_secret` here.
    pub fn check_encryption(
        &mut self,
        random: Random,
        key_secret: Option<&str>,
    ) -> OriginResult<()> {
        let Some(e) = &mut self.encryption else {
            return Ok(());
        };
        encryption::check(e, self.protocol, random)?;
        match &mut e.static_key {
            Some(k) => k.seal(key_secret, random),
            None => Ok(()),
        }
    }

    /// The playback path every URL of this endpoint starts with (what signed tokens cover).
    pub fn path_prefix(&self) -> String {
        format!("/out/v1/{}/{}/{}/", self.group, self.channel, self.name)
    }

    /// The manifest's file name.
    pub fn manifest_file(&self) -> String {
        format!(
            "{}.{}",
            self.manifest_name,
            self.protocol.manifest_extension()
        )
    }
}

fn default_manifest_window() -> u64 {
    60
}

fn default_min_buffer_time() -> u64 {
    4
}

fn default_min_update_period() -> u64 {
    2
}

/// `suggested_presentation_delay` of endpoints stored before it could be automatic: the
/// default they were created with.
fn legacy_presentation_delay() -> Option<u64> {
    Some(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_stored_before_the_latency_settings_keep_their_delay() {
        let n = |s| Name::parse(s).unwrap();
        let mut json = serde_json::to_value(Endpoint::new(n("g"), n("c"), n("e"), 0)).unwrap();
        let map = json.as_object_mut().unwrap();
        // As stored before `hold_back` existed and while the delay was a number.
        map.remove("hold_back");
        map.insert("suggested_presentation_delay".into(), 6.into());
        let e: Endpoint = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            (e.hold_back, e.suggested_presentation_delay),
            (None, Some(6))
        );
        // Before the delay was a setting at all: its default then.
        json.as_object_mut()
            .unwrap()
            .remove("suggested_presentation_delay");
        let e: Endpoint = serde_json::from_value(json).unwrap();
        assert_eq!(e.suggested_presentation_delay, Some(6));
        // New endpoints store `null`: automatic, also after a round trip.
        let fresh = Endpoint::new(n("g"), n("c"), n("e"), 0);
        let stored = serde_json::to_string(&fresh).unwrap();
        assert!(
            stored.contains("\"suggested_presentation_delay\":null"),
            "{stored}"
        );
        let back: Endpoint = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.suggested_presentation_delay, None);
    }
}
