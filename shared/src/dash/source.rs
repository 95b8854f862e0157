//! An encoder's MPD read for ingest (ISO/IEC 23009-1 5.3): the Representations of the current
//! (last) Period and what their segments are called. Timing comes from the segments, never from
//! the MPD, so `SegmentTimeline`, `Resync` and every other element not named here are skipped.

use quick_xml::encoding::Decoder;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::fmt;

mod resolve;

/// The largest MPD accepted; checked before anything is parsed.
pub const MAX_SOURCE_MPD_BYTES: usize = 1024 * 1024;
/// The most Representations one Period may have.
pub const MAX_SOURCE_REPRESENTATIONS: usize = 64;
/// The longest `Representation@id`: ids end up in storage keys and segment names.
const MAX_ID_BYTES: usize = 64;
/// The longest attribute value or `Label` text read (ffmpeg's longest value, its
/// `xsi:schemaLocation`, is about 130 bytes).
const MAX_VALUE_BYTES: usize = 1024;
/// The deepest element nesting accepted. An MPD's own is seven deep (MPD, Period, AdaptationSet,
/// Representation, SegmentTemplate, SegmentTimeline, S); the rest is room for extensions.
const MAX_DEPTH: usize = 32;
/// The most bytes of input an error message quotes.
const MAX_QUOTE_BYTES: usize = 64;
/// `Role@schemeIdUri` of the roles kept (5.8.5.5).
const ROLE_SCHEME: &str = "urn:mpeg:dash:role:2011";

/// What a Representation carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    Video,
    Audio,
    Other,
}

/// One `Representation` (5.3.5) with what it inherits from its AdaptationSet and Period.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRepresentation {
    pub id: String,
    /// `AdaptationSet@contentType`, else the `mimeType` prefix, else the first `codecs` entry.
    pub kind: ContentKind,
    pub codecs: Option<String>,
    /// `@bandwidth` in bits per second; 0 when absent (the attribute is mandatory).
    pub bandwidth: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// `@frameRate` (`25`, `30000/1001`).
    pub frame_rate: Option<f64>,
    pub audio_sampling_rate: Option<u32>,
    pub language: Option<String>,
    /// The first `Label` element's text, else `AdaptationSet@label`.
    pub label: Option<String>,
    /// `Role@value`s of the DASH role scheme, the AdaptationSet's first.
    pub roles: Vec<String>,
    /// `AudioChannelConfiguration@value`, whatever its scheme.
    pub audio_channels: Option<String>,
    /// `SegmentTemplate@initialization` with `$RepresentationID$` and `$Bandwidth$` substituted.
    pub initialization: Option<String>,
    /// `SegmentTemplate@media` with the same substitutions; `$Number$` and `$Time$` (and `$$`)
    /// are left for the caller.
    pub media: Option<String>,
}

/// The Representations of an MPD's last Period, in document order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceMpd {
    pub representations: Vec<SourceRepresentation>,
}

/// Why an MPD was refused. Messages quote at most [`MAX_QUOTE_BYTES`] bytes of input.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceMpdError {
    /// More than [`MAX_SOURCE_MPD_BYTES`].
    TooLarge,
    /// Not well-formed XML (UTF-8 only).
    Xml(String),
    /// The root element is not `MPD`.
    NotMpd,
    NoPeriod,
    /// A Period with more than [`MAX_SOURCE_REPRESENTATIONS`].
    TooManyRepresentations,
    /// Well-formed, but a value is out of bounds or malformed.
    Invalid(String),
}

impl fmt::Display for SourceMpdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => write!(f, "the MPD is larger than {MAX_SOURCE_MPD_BYTES} bytes"),
            Self::Xml(detail) => write!(f, "the MPD is not well-formed XML: {detail}"),
            Self::NotMpd => f.write_str("the root element is not MPD"),
            Self::NoPeriod => f.write_str("the MPD has no Period"),
            Self::TooManyRepresentations => write!(
                f,
                "a Period has more than {MAX_SOURCE_REPRESENTATIONS} Representations"
            ),
            Self::Invalid(detail) => write!(f, "invalid MPD: {detail}"),
        }
    }
}

impl std::error::Error for SourceMpdError {}

/// The Representations of the last Period of an MPD.
pub fn parse_source_mpd(body: &[u8]) -> Result<SourceMpd, SourceMpdError> {
    if body.len() > MAX_SOURCE_MPD_BYTES {
        return Err(SourceMpdError::TooLarge);
    }
    let mut reader = Reader::from_reader(body);
    let decoder = reader.decoder();
    let mut parser = Parser::default();
    loop {
        let event = reader.read_event().map_err(|e| {
            SourceMpdError::Xml(format!(
                "{} at byte {}",
                quote(&e.to_string()),
                reader.error_position()
            ))
        })?;
        match event {
            Event::Start(e) => parser.start(&e, decoder)?,
            Event::Empty(e) => {
                parser.start(&e, decoder)?;
                parser.end()?;
            }
            Event::End(_) => parser.end()?,
            Event::Text(t) => parser.text(&t.decode().map_err(xml)?)?,
            Event::CData(t) => parser.text(&t.decode().map_err(xml)?)?,
            Event::GeneralRef(r) => {
                let c = r.resolve_char_ref().map_err(xml)?;
                let name = r.decode().map_err(xml)?;
                let mut utf8 = [0; 4];
                let text = match c {
                    Some(c) => c.encode_utf8(&mut utf8),
                    None => resolve_predefined_entity(&name).ok_or_else(|| {
                        SourceMpdError::Xml(format!("unknown entity `&{};`", quote(&name)))
                    })?,
                };
                parser.text(text)?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    parser.finish()
}

/// Where an open element sits. Elements are read only under the parent the schema gives them;
/// anything else is `Other`, skipped with its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Mpd,
    Period,
    AdaptationSet,
    Representation,
    Label,
    Other,
}

/// `SegmentTemplate` attributes (5.3.9.4), merged attribute by attribute down the hierarchy.
#[derive(Debug, Default)]
struct Template {
    initialization: Option<String>,
    media: Option<String>,
}

/// What an AdaptationSet and a Representation both carry (RepresentationBase, 5.3.7).
#[derive(Debug, Default)]
struct Common {
    mime_type: Option<String>,
    codecs: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    frame_rate: Option<f64>,
    audio_sampling_rate: Option<u32>,
    lang: Option<String>,
    label: Option<String>,
    roles: Vec<String>,
    audio_channels: Option<String>,
    template: Template,
}

/// An `AdaptationSet` (5.3.3).
#[derive(Debug, Default)]
struct Set {
    content_type: Option<String>,
    /// `@label`, used when no `Label` element gives one.
    label: Option<String>,
    common: Common,
    representations: Vec<Rep>,
}

/// A `Representation` (5.3.5).
#[derive(Debug, Default)]
struct Rep {
    id: String,
    bandwidth: u64,
    common: Common,
}

/// A `Period` (5.3.2) being read.
#[derive(Debug, Default)]
struct PeriodState {
    template: Template,
    sets: Vec<Set>,
    /// Representations read so far, at most [`MAX_SOURCE_REPRESENTATIONS`].
    representations: usize,
}

#[derive(Debug, Default)]
struct Parser {
    open: Vec<Open>,
    root_seen: bool,
    /// The Period being read.
    period: PeriodState,
    /// The last Period read to its end.
    last: Option<Vec<SourceRepresentation>>,
    /// The text of the `Label` being read.
    label: String,
}

impl Parser {
    fn start(&mut self, e: &BytesStart<'_>, decoder: Decoder) -> Result<(), SourceMpdError> {
        if self.open.len() >= MAX_DEPTH {
            return Err(invalid(format!("elements nested deeper than {MAX_DEPTH}")));
        }
        check_attributes(e)?;
        let parent = self.open.last().copied();
        let open = match (parent, e.local_name().as_ref()) {
            (None, _) if self.root_seen => {
                return Err(SourceMpdError::Xml("a second root element".into()))
            }
            (None, b"MPD") => {
                self.root_seen = true;
                Open::Mpd
            }
            (None, _) => return Err(SourceMpdError::NotMpd),
            (Some(Open::Mpd), b"Period") => {
                self.period = PeriodState::default();
                Open::Period
            }
            (Some(Open::Period), b"AdaptationSet") => {
                self.adaptation_set(e, decoder)?;
                Open::AdaptationSet
            }
            (Some(Open::AdaptationSet), b"Representation") => {
                self.representation(e, decoder)?;
                Open::Representation
            }
            (Some(Open::AdaptationSet | Open::Representation), b"Label") => {
                self.label.clear();
                Open::Label
            }
            (
                Some(at @ (Open::Period | Open::AdaptationSet | Open::Representation)),
                b"SegmentTemplate",
            ) => {
                let template = match at {
                    Open::Period => Some(&mut self.period.template),
                    _ => self.common(at).map(|c| &mut c.template),
                };
                if let Some(template) = template {
                    read_template(e, decoder, template)?;
                }
                Open::Other
            }
            (Some(at @ (Open::AdaptationSet | Open::Representation)), b"Role") => {
                let [scheme, value] = attributes(e, decoder, ["schemeIdUri", "value"])?;
                if let (Some(common), Some(ROLE_SCHEME), Some(value)) =
                    (self.common(at), scheme.as_deref(), value)
                {
                    if !value.is_empty() && !common.roles.contains(&value) {
                        common.roles.push(value);
                    }
                }
                Open::Other
            }
            (
                Some(at @ (Open::AdaptationSet | Open::Representation)),
                b"AudioChannelConfiguration",
            ) => {
                let [value] = attributes(e, decoder, ["value"])?;
                if let Some(common) = self.common(at) {
                    common.audio_channels = common.audio_channels.take().or(value);
                }
                Open::Other
            }
            _ => Open::Other,
        };
        self.open.push(open);
        Ok(())
    }

    fn end(&mut self) -> Result<(), SourceMpdError> {
        match self.open.pop() {
            Some(Open::Period) => {
                let period = std::mem::take(&mut self.period);
                self.last = Some(resolve::period(&period)?);
            }
            Some(Open::Label) => {
                let text = self.label.trim().to_owned();
                let parent = self.open.last().copied();
                if let (Some(at), false) = (parent, text.is_empty()) {
                    if let Some(common) = self.common(at) {
                        common.label = common.label.take().or(Some(text));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), SourceMpdError> {
        match self.open.last() {
            None if !text.trim().is_empty() => {
                Err(SourceMpdError::Xml("text outside the root element".into()))
            }
            Some(Open::Label) => {
                if self.label.len() + text.len() > MAX_VALUE_BYTES {
                    return Err(invalid(format!(
                        "a Label longer than {MAX_VALUE_BYTES} bytes"
                    )));
                }
                self.label.push_str(text);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn finish(self) -> Result<SourceMpd, SourceMpdError> {
        if !self.root_seen {
            return Err(SourceMpdError::Xml("no root element".into()));
        }
        if !self.open.is_empty() {
            return Err(SourceMpdError::Xml(
                "the input ends inside an element".into(),
            ));
        }
        let representations = self.last.ok_or(SourceMpdError::NoPeriod)?;
        Ok(SourceMpd { representations })
    }

    /// The AdaptationSet or Representation being read, when `at` is one of them.
    fn common(&mut self, at: Open) -> Option<&mut Common> {
        let set = self.period.sets.last_mut()?;
        match at {
            Open::AdaptationSet => Some(&mut set.common),
            Open::Representation => set.representations.last_mut().map(|r| &mut r.common),
            _ => None,
        }
    }

    fn adaptation_set(
        &mut self,
        e: &BytesStart<'_>,
        decoder: Decoder,
    ) -> Result<(), SourceMpdError> {
        let mut set = Set::default();
        each_attribute(e, decoder, |name, value| {
            match name {
                b"contentType" => set.content_type = Some(value),
                b"label" => set.label = Some(value),
                _ => set.common.set("AdaptationSet", name, value)?,
            }
            Ok(())
        })?;
        self.period.sets.push(set);
        Ok(())
    }

    fn representation(
        &mut self,
        e: &BytesStart<'_>,
        decoder: Decoder,
    ) -> Result<(), SourceMpdError> {
        if self.period.representations == MAX_SOURCE_REPRESENTATIONS {
            return Err(SourceMpdError::TooManyRepresentations);
        }
        self.period.representations += 1;
        let mut rep = Rep::default();
        each_attribute(e, decoder, |name, value| {
            match name {
                b"id" => rep.id = value,
                b"bandwidth" => rep.bandwidth = number("Representation@bandwidth", &value)?,
                _ => rep.common.set("Representation", name, value)?,
            }
            Ok(())
        })?;
        if rep.id.is_empty() {
            return Err(invalid("a Representation without an id".into()));
        }
        if rep.id.len() > MAX_ID_BYTES {
            return Err(invalid(format!(
                "Representation@id `{}` is longer than {MAX_ID_BYTES} bytes",
                quote(&rep.id)
            )));
        }
        let mut ids = self.period.sets.iter().flat_map(|s| &s.representations);
        if ids.any(|r| r.id == rep.id) {
            return Err(invalid(format!(
                "two Representations with id `{}`",
                quote(&rep.id)
            )));
        }
        if let Some(set) = self.period.sets.last_mut() {
            set.representations.push(rep);
        }
        Ok(())
    }
}

impl Common {
    /// One attribute of an AdaptationSet or Representation; unknown ones are ignored.
    fn set(&mut self, element: &str, name: &[u8], value: String) -> Result<(), SourceMpdError> {
        let what = |attribute: &str| format!("{element}@{attribute}");
        match name {
            b"mimeType" => self.mime_type = Some(value),
            b"codecs" => self.codecs = Some(value),
            b"lang" => self.lang = Some(value),
            b"width" => self.width = Some(number(&what("width"), &value)?),
            b"height" => self.height = Some(number(&what("height"), &value)?),
            b"audioSamplingRate" => {
                // A range "low high" (5.3.7.2) gives its low end.
                let low = value.split_whitespace().next().unwrap_or_default();
                self.audio_sampling_rate = Some(number(&what("audioSamplingRate"), low)?);
            }
            b"frameRate" => {
                self.frame_rate = Some(frame_rate(&value).ok_or_else(|| {
                    invalid(format!(
                        "{} `{}` is not a frame rate",
                        what("frameRate"),
                        quote(&value)
                    ))
                })?)
            }
            _ => {}
        }
        Ok(())
    }
}

fn read_template(
    e: &BytesStart<'_>,
    decoder: Decoder,
    template: &mut Template,
) -> Result<(), SourceMpdError> {
    let [initialization, media] = attributes(e, decoder, ["initialization", "media"])?;
    template.initialization = initialization.or(template.initialization.take());
    template.media = media.or(template.media.take());
    Ok(())
}

/// Every element's attributes, read or not, must be well-formed (no duplicates) and at most
/// [`MAX_VALUE_BYTES`] long.
fn check_attributes(e: &BytesStart<'_>) -> Result<(), SourceMpdError> {
    for attribute in e.attributes() {
        let attribute = attribute.map_err(xml)?;
        if attribute.value.len() > MAX_VALUE_BYTES {
            let name = String::from_utf8_lossy(attribute.key.as_ref());
            return Err(invalid(format!(
                "{}@{} is longer than {MAX_VALUE_BYTES} bytes",
                quote(&String::from_utf8_lossy(e.name().as_ref())),
                quote(&name)
            )));
        }
    }
    Ok(())
}

/// Calls `f` with every unprefixed attribute of `e` (prefixed ones belong to other namespaces),
/// unescaped.
fn each_attribute(
    e: &BytesStart<'_>,
    decoder: Decoder,
    mut f: impl FnMut(&[u8], String) -> Result<(), SourceMpdError>,
) -> Result<(), SourceMpdError> {
    for attribute in e.attributes() {
        let attribute = attribute.map_err(xml)?;
        if attribute.key.prefix().is_none() {
            let value = attribute.decode_and_unescape_value(decoder).map_err(xml)?;
            f(attribute.key.as_ref(), value.into_owned())?;
        }
    }
    Ok(())
}

/// The values of the attributes `names` of `e`.
fn attributes<const N: usize>(
    e: &BytesStart<'_>,
    decoder: Decoder,
    names: [&str; N],
) -> Result<[Option<String>; N], SourceMpdError> {
    let mut values = [const { None }; N];
    each_attribute(e, decoder, |name, value| {
        if let Some(i) = names.iter().position(|n| n.as_bytes() == name) {
            values[i] = Some(value);
        }
        Ok(())
    })?;
    Ok(values)
}

/// `FrameRateType` (5.3.7.2): `n` or `n/d`, as frames per second.
fn frame_rate(value: &str) -> Option<f64> {
    let (n, d) = value.split_once('/').unwrap_or((value, "1"));
    let (n, d) = (n.parse::<u32>().ok()?, d.parse::<u32>().ok()?);
    (d != 0).then(|| f64::from(n) / f64::from(d))
}

fn number<T: std::str::FromStr>(what: &str, value: &str) -> Result<T, SourceMpdError> {
    value
        .parse()
        .map_err(|_| invalid(format!("{what} `{}` is not a number", quote(value))))
}

fn invalid(detail: String) -> SourceMpdError {
    SourceMpdError::Invalid(detail)
}

fn xml(e: impl fmt::Display) -> SourceMpdError {
    SourceMpdError::Xml(quote(&e.to_string()))
}

/// At most [`MAX_QUOTE_BYTES`] of `text`, cut on a character boundary.
fn quote(text: &str) -> String {
    if text.len() <= MAX_QUOTE_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_QUOTE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests;
