//! The files a manifest references, as paths relative to the asset root: HLS through m3u8-rs
//! (RFC 8216bis 4.4), DASH through quick-xml with `SegmentTemplate` + `SegmentTimeline`
//! expanded (ISO/IEC 23009-1 5.3.9.4, 5.3.9.6).

use crate::paths::{self, dir_of, ReferenceError};
use m3u8_rs::Playlist;
use quick_xml::events::{BytesStart, Event};
use std::collections::BTreeSet;
use std::fmt;

/// Why a rendered manifest could not be turned into the asset's file list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// A reference that is not a file path inside the asset.
    Reference {
        reference: String,
        problem: RefProblem,
    },
    /// The manifest does not parse; `detail` is the parser's.
    Unparsable { manifest: String, detail: String },
    /// A live manifest (no `EXT-X-ENDLIST`, an MPD that is not static) where a VOD is needed.
    NotVod { manifest: String },
    /// MPD content outside what the harvest expands; `context` names where.
    Mpd {
        context: String,
        problem: &'static str,
    },
}

/// What is wrong with one reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefProblem {
    Path(ReferenceError),
    Query,
    TooLong,
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::Reference { reference, problem } => {
                write!(f, "manifest reference `{reference}` ")?;
                match problem {
                    RefProblem::Path(e) => e.fmt(f),
                    RefProblem::Query => f.write_str("has a query"),
                    RefProblem::TooLong => f.write_str("is too long"),
                }
            }
            RefError::Unparsable { manifest, detail } => {
                write!(f, "{manifest} does not parse: {detail}")
            }
            RefError::NotVod { manifest } => write!(f, "{manifest} is not a VOD"),
            RefError::Mpd { context, problem } => write!(f, "MPD {context}: {problem}"),
        }
    }
}

impl std::error::Error for RefError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RefError::Reference {
                problem: RefProblem::Path(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}

fn mpd_error(context: impl Into<String>, problem: &'static str) -> RefError {
    RefError::Mpd {
        context: context.into(),
        problem,
    }
}

/// Longest relative path an asset file may have.
pub const MAX_PATH_LEN: usize = 512;

/// What an HLS playlist references.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HlsRefs {
    /// Rendition playlists (from a master playlist).
    pub playlists: Vec<String>,
    /// Init and media segments (from a media playlist).
    pub media: Vec<String>,
}

/// `uri` resolved against the directory `dir` ([`paths::resolve_reference`]). Queries and
/// paths longer than `MAX_PATH_LEN` are refused too.
pub fn resolve(dir: &str, uri: &str) -> Result<String, RefError> {
    let refused = |problem| RefError::Reference {
        reference: uri.to_owned(),
        problem,
    };
    if uri.contains(['?', '#']) {
        return Err(refused(RefProblem::Query));
    }
    let path = paths::resolve_reference(dir, uri).map_err(|e| refused(RefProblem::Path(e)))?;
    if path.len() > MAX_PATH_LEN {
        return Err(refused(RefProblem::TooLong));
    }
    Ok(path)
}

fn push_unique(out: &mut Vec<String>, seen: &mut BTreeSet<String>, path: String) {
    if seen.insert(path.clone()) {
        out.push(path);
    }
}

/// The references of the playlist at `path`.
pub fn hls(path: &str, text: &str) -> Result<HlsRefs, RefError> {
    let dir = dir_of(path);
    let playlist =
        m3u8_rs::parse_playlist_res(text.as_bytes()).map_err(|_| RefError::Unparsable {
            manifest: format!("playlist {path}"),
            // nom's error would quote the rest of the input.
            detail: "not an m3u8 playlist".to_owned(),
        })?;
    let mut refs = HlsRefs::default();
    let mut seen = BTreeSet::new();
    match playlist {
        Playlist::MasterPlaylist(m) => {
            for v in &m.variants {
                push_unique(&mut refs.playlists, &mut seen, resolve(dir, &v.uri)?);
            }
            for a in &m.alternatives {
                if let Some(uri) = &a.uri {
                    push_unique(&mut refs.playlists, &mut seen, resolve(dir, uri)?);
                }
            }
        }
        Playlist::MediaPlaylist(p) => {
            if !p.end_list {
                return Err(RefError::NotVod {
                    manifest: format!("playlist {path} (no EXT-X-ENDLIST)"),
                });
            }
            for s in &p.segments {
                if let Some(map) = &s.map {
                    push_unique(&mut refs.media, &mut seen, resolve(dir, &map.uri)?);
                }
                push_unique(&mut refs.media, &mut seen, resolve(dir, &s.uri)?);
            }
        }
    }
    Ok(refs)
}

/// Most segments one `SegmentTimeline` may expand to (bounds `@r`).
pub const MAX_TIMELINE_SEGMENTS: u64 = 100_000;

/// A `SegmentTemplate` with its timeline.
#[derive(Debug, Clone, Default)]
struct Template {
    initialization: Option<String>,
    media: Option<String>,
    start_number: u64,
    /// `(t, d, r)`; `t` absent continues from the previous segment's end.
    timeline: Vec<(Option<u64>, u64, i64)>,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, RefError> {
    for a in e.attributes() {
        let a = a.map_err(|_| mpd_error("attribute", "malformed"))?;
        if a.key.as_ref() == name.as_bytes() {
            let v = a
                .unescape_value()
                .map_err(|_| mpd_error(format!("attribute {name}"), "bad escape"))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn num<T: std::str::FromStr>(e: &BytesStart<'_>, name: &str) -> Result<Option<T>, RefError> {
    attr(e, name)?
        .map(|v| {
            v.parse()
                .map_err(|_| mpd_error(format!("attribute {name}=\"{v}\""), "not a number"))
        })
        .transpose()
}

/// Fills `$RepresentationID$`, `$Bandwidth$`, `$Number$`, `$Time$` (with `%0Nd` widths) and `$$`.
fn expand(
    template: &str,
    id: &str,
    bandwidth: &str,
    number: u64,
    time: u64,
) -> Result<String, RefError> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let j = after
            .find('$')
            .ok_or_else(|| mpd_error(format!("template `{template}`"), "unclosed `$`"))?;
        let ident = &after[..j];
        let (name, width) = match ident.split_once("%0") {
            Some((n, w)) => {
                let w = w
                    .strip_suffix('d')
                    .and_then(|w| w.parse::<usize>().ok())
                    .filter(|w| *w <= 20)
                    .ok_or_else(|| mpd_error(format!("template `{template}`"), "bad width"))?;
                (n, w)
            }
            None => (ident, 0),
        };
        match name {
            "" => out.push('$'),
            "RepresentationID" => out.push_str(id),
            "Bandwidth" => out.push_str(&format!("{bandwidth:0>width$}")),
            "Number" => out.push_str(&format!("{number:0width$}")),
            "Time" => out.push_str(&format!("{time:0width$}")),
            _ => {
                return Err(mpd_error(
                    format!("template `{template}`, identifier `{name}`"),
                    "unknown identifier",
                ))
            }
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Every init and media segment of a static MPD at `path`, per Representation in order.
pub fn mpd(path: &str, text: &str) -> Result<Vec<String>, RefError> {
    let dir = dir_of(path);
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut set_template: Option<Template> = None;
    let mut rep: Option<(String, String, Option<Template>)> = None;
    let mut is_static = false;
    loop {
        let event = reader.read_event().map_err(|e| RefError::Unparsable {
            manifest: format!("MPD {path}"),
            detail: e.to_string(),
        })?;
        let (e, empty) = match &event {
            Event::Eof => break,
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(end) => {
                match end.name().as_ref() {
                    b"Representation" => {
                        let (id, bandwidth, own) = rep.take().unwrap_or_default();
                        let template = own.or_else(|| set_template.clone()).ok_or_else(|| {
                            mpd_error(format!("Representation {id}"), "no SegmentTemplate")
                        })?;
                        for file in template_files(&template, &id, &bandwidth)? {
                            push_unique(&mut out, &mut seen, resolve(dir, &file)?);
                        }
                    }
                    b"AdaptationSet" => set_template = None,
                    _ => {}
                }
                continue;
            }
            _ => continue,
        };
        match e.name().as_ref() {
            b"MPD" => is_static = attr(e, "type")?.as_deref() == Some("static"),
            b"BaseURL" => return Err(mpd_error(path, "BaseURL is not supported")),
            b"Representation" => {
                let id = attr(e, "id")?.unwrap_or_default();
                let bandwidth = attr(e, "bandwidth")?.unwrap_or_default();
                if empty {
                    let template = set_template.clone().ok_or_else(|| {
                        mpd_error(format!("Representation {id}"), "no SegmentTemplate")
                    })?;
                    for file in template_files(&template, &id, &bandwidth)? {
                        push_unique(&mut out, &mut seen, resolve(dir, &file)?);
                    }
                } else {
                    rep = Some((id, bandwidth, None));
                }
            }
            b"SegmentTemplate" => {
                let t = Template {
                    initialization: attr(e, "initialization")?,
                    media: attr(e, "media")?,
                    start_number: num(e, "startNumber")?.unwrap_or(1),
                    timeline: Vec::new(),
                };
                match rep.as_mut() {
                    Some(r) => r.2 = Some(t),
                    None => set_template = Some(t),
                }
            }
            b"S" => {
                let s = (
                    num(e, "t")?,
                    num(e, "d")?.unwrap_or(0),
                    num(e, "r")?.unwrap_or(0),
                );
                let target = match rep.as_mut() {
                    Some((_, _, Some(t))) => Some(t),
                    _ => set_template.as_mut(),
                };
                target
                    .ok_or_else(|| mpd_error(path, "S outside a SegmentTemplate"))?
                    .timeline
                    .push(s);
            }
            _ => {}
        }
    }
    if !is_static {
        return Err(RefError::NotVod {
            manifest: format!("MPD {path} (not static)"),
        });
    }
    Ok(out)
}

/// The init and media file names of one Representation.
fn template_files(t: &Template, id: &str, bandwidth: &str) -> Result<Vec<String>, RefError> {
    let mut files = Vec::new();
    if let Some(init) = &t.initialization {
        files.push(expand(init, id, bandwidth, 0, 0)?);
    }
    let media = t.media.as_deref().ok_or_else(|| {
        mpd_error(
            format!("Representation {id}"),
            "SegmentTemplate without @media",
        )
    })?;
    let mut time = 0u64;
    let mut number = t.start_number;
    let mut count = 0u64;
    for &(t0, d, r) in &t.timeline {
        if let Some(t0) = t0 {
            time = t0;
        }
        let r = u64::try_from(r).map_err(|_| {
            mpd_error(
                format!("Representation {id}"),
                "open-ended S@r in a static MPD",
            )
        })?;
        if d == 0 {
            return Err(mpd_error(format!("Representation {id}"), "S without @d"));
        }
        for _ in 0..=r {
            count += 1;
            if count > MAX_TIMELINE_SEGMENTS {
                return Err(mpd_error(
                    format!("Representation {id}"),
                    "too many segments",
                ));
            }
            files.push(expand(media, id, bandwidth, number, time)?);
            time = time.saturating_add(d);
            number += 1;
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests;
