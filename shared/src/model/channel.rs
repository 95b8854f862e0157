//! A channel: one live program with two redundant inputs.

use crate::error::OriginResult;
use crate::fields::Fields;
use crate::names::Name;
use serde::{Deserialize, Serialize};

/// Allowed `max_segment_duration` in seconds (also the failover timeout).
pub const MAX_SEGMENT_DURATION: std::ops::RangeInclusive<u64> = 1..=60;
/// Allowed `max_playlist_duration` in seconds: how much live content each input keeps.
pub const MAX_PLAYLIST_DURATION: std::ops::RangeInclusive<u64> = 30..=3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputProtocol {
    /// HLS with MPEG-TS segments.
    #[serde(rename = "HLS")]
    Hls,
    /// HLS with fragmented MP4 (CMAF) segments and `EXT-X-MAP` init segments.
    #[serde(rename = "HLS_CMAF")]
    HlsCmaf,
    /// MPEG-DASH: an MPD plus one fMP4 init and media segments per representation (PUT).
    #[serde(rename = "DASH")]
    Dash,
    /// DASH-IF Live Media Ingest interface 1: one CMAF track per path, its header then its
    /// segments (POST or PUT).
    #[serde(rename = "CMAF")]
    Cmaf,
}

impl InputProtocol {
    pub const RULE: &'static str =
        "\"HLS\", \"HLS_CMAF\", \"DASH\" or \"CMAF\", fixed once the channel exists";

    pub fn parse(s: &str) -> Option<InputProtocol> {
        match s {
            "HLS" => Some(InputProtocol::Hls),
            "HLS_CMAF" => Some(InputProtocol::HlsCmaf),
            "DASH" => Some(InputProtocol::Dash),
            "CMAF" => Some(InputProtocol::Cmaf),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InputProtocol::Hls => "HLS",
            InputProtocol::HlsCmaf => "HLS_CMAF",
            InputProtocol::Dash => "DASH",
            InputProtocol::Cmaf => "CMAF",
        }
    }

    /// Whether segments arrive one track per path and commit on upload (no media playlist).
    pub fn per_track(self) -> bool {
        matches!(self, InputProtocol::Dash | InputProtocol::Cmaf)
    }
}

/// Input 1 (primary) or 2 (backup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InputId(u8);

impl InputId {
    pub const PRIMARY: InputId = InputId(1);
    pub const BACKUP: InputId = InputId(2);
    pub const ALL: [InputId; 2] = [InputId::PRIMARY, InputId::BACKUP];

    pub fn parse(s: &str) -> Option<InputId> {
        match s {
            "1" => Some(InputId::PRIMARY),
            "2" => Some(InputId::BACKUP),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        self.0
    }

    pub fn index(self) -> usize {
        usize::from(self.0 - 1)
    }

    /// The channel's other input.
    pub fn other(self) -> InputId {
        if self == InputId::PRIMARY {
            InputId::BACKUP
        } else {
            InputId::PRIMARY
        }
    }
}

/// Basic-auth credentials of one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputAuth {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub group: Name,
    pub name: Name,
    /// Storage identity of this incarnation: a deleted and re-created channel starts empty.
    pub id: String,
    pub protocol: InputProtocol,
    pub max_segment_duration: u64,
    pub max_playlist_duration: u64,
    pub inputs: [InputAuth; 2],
    /// How long segments stay archived after leaving the live timelines, seconds: the largest
    /// `time_shift_days` of the channel's endpoints (kept up to date by the API).
    #[serde(default)]
    pub archive_retention_s: u64,
    pub created_at_ms: u64,
}

impl Channel {
    pub fn input(&self, id: InputId) -> &InputAuth {
        &self.inputs[id.index()]
    }

    /// Applies the settings of a POST body: the input protocol, then what a PATCH may change.
    pub fn apply_new(&mut self, fields: &mut Fields<'_>) -> OriginResult<()> {
        fields.parsed(
            "protocol",
            InputProtocol::RULE,
            InputProtocol::parse,
            &mut self.protocol,
        )?;
        self.apply(fields)
    }

    /// Applies the settings of a PATCH body. The input protocol stays what it was: the
    /// stored segments and timelines are of that kind.
    pub fn apply(&mut self, fields: &mut Fields<'_>) -> OriginResult<()> {
        fields.fixed("name", self.name.as_str())?;
        fields.fixed("protocol", self.protocol.name())?;
        fields.uint(
            "max_segment_duration",
            MAX_SEGMENT_DURATION,
            &mut self.max_segment_duration,
        )?;
        fields.uint(
            "max_playlist_duration",
            MAX_PLAYLIST_DURATION,
            &mut self.max_playlist_duration,
        )?;
        fields.read_only(&["group", "inputs", "created_at", "archive_retention"]);
        Ok(())
    }
}
