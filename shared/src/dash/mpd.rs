//! The Media Presentation Description (ISO/IEC 23009-1 5.3), written with quick-xml.
//! Every value is given by the caller; nothing here reads a clock.

use crate::datetime::iso8601_ms;
use crate::media::mp4::TrackKind;
use quick_xml::events::{BytesDecl, Event};
use quick_xml::Writer;
use std::io;

/// `MPD@type` and the attributes that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpdType {
    Dynamic {
        /// Unix ms of the MPD timeline's zero point: 0 (the epoch) for live, later for a
        /// presentation shifted behind the live edge.
        availability_start_ms: i64,
        publish_time_ms: i64,
        /// `None` once the presentation is final (DASH-IF timing model, "End of live
        /// content": no `minimumUpdatePeriod`, the last Period has a duration).
        min_update_period_s: Option<u64>,
        /// `None`: an infinite time-shift buffer (a final presentation keeps all it lists).
        time_shift_buffer_depth_ms: Option<u64>,
        suggested_presentation_delay_s: u64,
    },
    Static {
        duration_ms: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mpd {
    pub mpd_type: MpdType,
    pub min_buffer_time_s: u64,
    /// `UTCTiming` (urn:mpeg:dash:utc:http-iso:2014) source, served by the origin itself.
    pub utc_timing_url: Option<String>,
    pub periods: Vec<Period>,
}

/// A Period. Dynamic: its start is wall-clock time since the epoch; static: time since the
/// start of the presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub id: String,
    pub start_ms: i64,
    /// `Period@duration`: only on the last Period of a final dynamic presentation.
    pub duration_ms: Option<u64>,
    pub adaptation_sets: Vec<AdaptationSet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdaptationSet {
    pub id: u32,
    pub kind: TrackKind,
    pub lang: Option<String>,
    /// `ContentProtection` (5.8.4.1, ISO/IEC 23001-7 11.2) of encrypted tracks.
    pub content_protection: Vec<ContentProtection>,
    pub representations: Vec<Representation>,
}

/// One `ContentProtection` descriptor: the `mp4protection` scheme with `cenc:default_KID`, or
/// a DRM system's with its `cenc:pssh` (base64 of the box).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentProtection {
    pub scheme_id_uri: String,
    pub value: Option<String>,
    pub default_kid: Option<String>,
    pub pssh: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representation {
    pub id: String,
    pub bandwidth: u64,
    pub codecs: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// `@frameRate` as text (e.g. `30` or `30000/1001`).
    pub frame_rate: Option<String>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u8>,
    pub timescale: u32,
    /// Media time at the Period's start (`SegmentTemplate@presentationTimeOffset`).
    pub presentation_time_offset: u64,
    /// `SegmentTemplate@initialization`.
    pub initialization: String,
    /// `SegmentTemplate@media`, with `$Time$`.
    pub media: String,
    pub start_number: u64,
    /// `(t, d)` of each segment, in `timescale` units.
    pub segments: Vec<(u64, u64)>,
}

/// `availabilityStartTime` of live MPDs: the Unix epoch, so Period starts are wall-clock times.
const AVAILABILITY_START: &str = "1970-01-01T00:00:00Z";

fn availability_start(ms: i64) -> String {
    if ms == 0 {
        AVAILABILITY_START.to_owned()
    } else {
        iso8601_ms(ms)
    }
}

/// Writes the MPD document.
pub fn write_mpd(mpd: &Mpd) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing to a Vec cannot fail.
    let _ = write(&mut w, mpd);
    let mut out = String::from_utf8(w.into_inner()).unwrap_or_default();
    out.push('\n');
    out
}

fn write(w: &mut Writer<Vec<u8>>, mpd: &Mpd) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let min_buffer = duration(mpd.min_buffer_time_s * 1000);
    let mut root = w
        .create_element("MPD")
        .with_attribute(("xmlns", "urn:mpeg:dash:schema:mpd:2011"));
    let encrypted = mpd
        .periods
        .iter()
        .flat_map(|p| &p.adaptation_sets)
        .any(|a| !a.content_protection.is_empty());
    if encrypted {
        root = root.with_attribute(("xmlns:cenc", "urn:mpeg:cenc:2013"));
    }
    root = root
        .with_attribute((
            "profiles",
            "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019",
        ))
        .with_attribute(("minBufferTime", min_buffer.as_str()));
    let (kind, extra): (&str, Vec<(&str, String)>) = match &mpd.mpd_type {
        MpdType::Dynamic {
            availability_start_ms,
            publish_time_ms,
            min_update_period_s,
            time_shift_buffer_depth_ms,
            suggested_presentation_delay_s,
        } => (
            "dynamic",
            [
                (
                    "availabilityStartTime",
                    Some(availability_start(*availability_start_ms)),
                ),
                ("publishTime", Some(iso8601_ms(*publish_time_ms))),
                (
                    "minimumUpdatePeriod",
                    min_update_period_s.map(|s| duration(s * 1000)),
                ),
                (
                    "timeShiftBufferDepth",
                    time_shift_buffer_depth_ms.map(duration),
                ),
                (
                    "suggestedPresentationDelay",
                    Some(duration(suggested_presentation_delay_s * 1000)),
                ),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect(),
        ),
        MpdType::Static { duration_ms } => (
            "static",
            vec![("mediaPresentationDuration", duration(*duration_ms))],
        ),
    };
    root = root.with_attribute(("type", kind));
    for (k, v) in &extra {
        root = root.with_attribute((*k, v.as_str()));
    }
    root.write_inner_content(|w| {
        for p in &mpd.periods {
            write_period(w, p)?;
        }
        if let Some(url) = &mpd.utc_timing_url {
            w.create_element("UTCTiming")
                .with_attribute(("schemeIdUri", "urn:mpeg:dash:utc:http-iso:2014"))
                .with_attribute(("value", url.as_str()))
                .write_empty()?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_period(w: &mut Writer<Vec<u8>>, p: &Period) -> io::Result<()> {
    let start = duration_signed(p.start_ms);
    let length = p.duration_ms.map(duration);
    let mut el = w
        .create_element("Period")
        .with_attribute(("id", p.id.as_str()))
        .with_attribute(("start", start.as_str()));
    if let Some(d) = &length {
        el = el.with_attribute(("duration", d.as_str()));
    }
    el.write_inner_content(|w| {
        for a in &p.adaptation_sets {
            write_adaptation_set(w, a)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_adaptation_set(w: &mut Writer<Vec<u8>>, a: &AdaptationSet) -> io::Result<()> {
    let id = a.id.to_string();
    let (content_type, mime) = match a.kind {
        TrackKind::Video => ("video", "video/mp4"),
        TrackKind::Audio => ("audio", "audio/mp4"),
    };
    let mut el = w
        .create_element("AdaptationSet")
        .with_attribute(("id", id.as_str()))
        .with_attribute(("contentType", content_type))
        .with_attribute(("mimeType", mime))
        .with_attribute(("segmentAlignment", "true"))
        .with_attribute(("startWithSAP", "1"));
    if let Some(l) = &a.lang {
        el = el.with_attribute(("lang", l.as_str()));
    }
    el.write_inner_content(|w| {
        for cp in &a.content_protection {
            write_content_protection(w, cp)?;
        }
        for r in &a.representations {
            write_representation(w, r)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_content_protection(w: &mut Writer<Vec<u8>>, cp: &ContentProtection) -> io::Result<()> {
    let mut el = w
        .create_element("ContentProtection")
        .with_attribute(("schemeIdUri", cp.scheme_id_uri.as_str()));
    if let Some(v) = &cp.value {
        el = el.with_attribute(("value", v.as_str()));
    }
    if let Some(k) = &cp.default_kid {
        el = el.with_attribute(("cenc:default_KID", k.as_str()));
    }
    match &cp.pssh {
        Some(p) => {
            el.write_inner_content(|w| {
                w.create_element("cenc:pssh")
                    .write_text_content(quick_xml::events::BytesText::new(p))?;
                Ok(())
            })?;
        }
        None => {
            el.write_empty()?;
        }
    }
    Ok(())
}

fn write_representation(w: &mut Writer<Vec<u8>>, r: &Representation) -> io::Result<()> {
    let bandwidth = r.bandwidth.to_string();
    let mut el = w
        .create_element("Representation")
        .with_attribute(("id", r.id.as_str()))
        .with_attribute(("bandwidth", bandwidth.as_str()))
        .with_attribute(("codecs", r.codecs.as_str()));
    let numbers: Vec<(&str, String)> = [
        ("width", r.width.map(|v| v.to_string())),
        ("height", r.height.map(|v| v.to_string())),
        ("frameRate", r.frame_rate.clone()),
        ("audioSamplingRate", r.sample_rate.map(|v| v.to_string())),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect();
    for (k, v) in &numbers {
        el = el.with_attribute((*k, v.as_str()));
    }
    el.write_inner_content(|w| {
        if let Some(ch) = r.channels {
            w.create_element("AudioChannelConfiguration")
                .with_attribute((
                    "schemeIdUri",
                    "urn:mpeg:dash:23003:3:audio_channel_configuration:2011",
                ))
                .with_attribute(("value", ch.to_string().as_str()))
                .write_empty()?;
        }
        let timescale = r.timescale.to_string();
        let pto = r.presentation_time_offset.to_string();
        let start = r.start_number.to_string();
        w.create_element("SegmentTemplate")
            .with_attribute(("timescale", timescale.as_str()))
            .with_attribute(("presentationTimeOffset", pto.as_str()))
            .with_attribute(("initialization", r.initialization.as_str()))
            .with_attribute(("media", r.media.as_str()))
            .with_attribute(("startNumber", start.as_str()))
            .write_inner_content(|w| {
                w.create_element("SegmentTimeline")
                    .write_inner_content(|w| write_timeline(w, &r.segments))?;
                Ok(())
            })?;
        Ok(())
    })?;
    Ok(())
}

/// `S` elements: `@t` where the timeline is not contiguous, `@r` for repeated durations.
fn write_timeline(w: &mut Writer<Vec<u8>>, segments: &[(u64, u64)]) -> io::Result<()> {
    let mut i = 0;
    let mut expected: Option<u64> = None;
    while i < segments.len() {
        let (t, d) = segments[i];
        let mut repeat = 0;
        while let Some(&(tn, dn)) = segments.get(i + repeat + 1) {
            if dn != d || tn != t + d * (repeat as u64 + 1) {
                break;
            }
            repeat += 1;
        }
        let mut el = w.create_element("S");
        let t_text = t.to_string();
        if expected != Some(t) {
            el = el.with_attribute(("t", t_text.as_str()));
        }
        let d_text = d.to_string();
        el = el.with_attribute(("d", d_text.as_str()));
        let r_text = repeat.to_string();
        if repeat > 0 {
            el = el.with_attribute(("r", r_text.as_str()));
        }
        el.write_empty()?;
        expected = Some(t + d * (repeat as u64 + 1));
        i += repeat + 1;
    }
    Ok(())
}

/// An `xs:duration` in seconds with millisecond precision.
fn duration(ms: u64) -> String {
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}

fn duration_signed(ms: i64) -> String {
    duration(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests;
