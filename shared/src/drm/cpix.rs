//! SPEKE v2.0 documents: the CPIX 2.3 request an encryptor POSTs to a key provider, and the
//! reading of its answer (DASH-IF CPIX 2.3; AWS SPEKE API v2, "Standard payload components"
//! and "Encryption contract"). Sans-IO: [`request_xml`] gives the body to send with
//! [`REQUEST_HEADERS`], [`parse_response`] reads what came back.

use super::{DrmError, DrmSystem, Kid, Scheme, TrackType};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Headers of a SPEKE v2.0 request (the body is [`request_xml`]).
pub const REQUEST_HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/xml"),
    ("x-speke-version", "2.0"),
];
/// The CPIX version SPEKE v2.0 speaks.
pub const CPIX_VERSION: &str = "2.3";
/// Largest answer read: a few keys with signalling for four systems fit in a few KiB; a
/// provider that sends more is broken or hostile.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// Deepest element nesting read (CPIX nests five levels).
const MAX_DEPTH: usize = 16;

/// What to ask a key provider for: one key per entry of `keys`, each signalled for every
/// system of `systems`, all for one key period (`period_index`, `None` without rotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRequest {
    pub content_id: String,
    pub scheme: Scheme,
    pub period_index: Option<u64>,
    pub keys: Vec<RequestedKey>,
    pub systems: Vec<DrmSystem>,
}

/// A key the encryptor names (`ContentKey@kid`) and the tracks it is for (one usage rule each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedKey {
    pub kid: Kid,
    pub tracks: Vec<TrackType>,
}

/// The keys of one answer, in the order of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyResponse {
    pub keys: Vec<ProvidedKey>,
}

/// A content key and its signalling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvidedKey {
    /// The KID the request named.
    pub requested: Kid,
    /// The KID to use: the provider's when it overrode the request's (SPEKE "Overriding the
    /// key identifier"), else `requested`.
    pub kid: Kid,
    pub key: [u8; 16],
    /// `ContentKey@explicitIV` when the provider set one.
    pub explicit_iv: Option<[u8; 16]>,
    pub tracks: Vec<TrackType>,
    pub systems: Vec<SystemData>,
}

/// What the provider returned for one key and one DRM system (empty parts as `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemData {
    pub system: DrmSystem,
    /// A complete `pssh` box (checked: one box of this system).
    pub pssh: Option<Vec<u8>>,
    /// DASH `ContentProtection` children, XML text.
    pub content_protection_data: Option<String>,
    /// The `EXT-X-KEY` line(s) for media playlists.
    pub hls_media: Option<String>,
    /// The `EXT-X-SESSION-KEY` line(s) for master playlists.
    pub hls_master: Option<String>,
    /// `URIExtXKey`: the `URI` of `EXT-X-KEY` (FairPlay).
    pub uri_ext_x_key: Option<String>,
}

// Serde of the 16-byte ids inside sealed key records.
impl Serialize for Kid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.uuid())
    }
}

impl<'de> Deserialize<'de> for Kid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Kid, D::Error> {
        let s = String::deserialize(d)?;
        Kid::parse_uuid(&s).ok_or_else(|| serde::de::Error::custom("KID is not a UUID"))
    }
}

impl Serialize for TrackType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TrackType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TrackType, D::Error> {
        match String::deserialize(d)?.as_str() {
            "VIDEO" => Ok(TrackType::Video),
            "AUDIO" => Ok(TrackType::Audio),
            _ => Err(serde::de::Error::custom("unknown track type")),
        }
    }
}

impl Serialize for DrmSystem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.system_id())
    }
}

impl<'de> Deserialize<'de> for DrmSystem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DrmSystem, D::Error> {
        let s = String::deserialize(d)?;
        DrmSystem::from_system_id(&s).ok_or_else(|| serde::de::Error::custom("unknown system"))
    }
}

/// The name of a key period in the request (`ContentKeyPeriod@id`, referenced by each usage
/// rule's `KeyPeriodFilter@periodId`).
fn period_id(index: u64) -> String {
    format!("keyPeriod_{index}")
}

/// The CPIX 2.3 request document.
pub fn request_xml(req: &KeyRequest) -> String {
    let mut x = String::with_capacity(1024 + 512 * req.keys.len() * (1 + req.systems.len()));
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\" xmlns:pskc=\"urn:ietf:params:xml:ns:keyprov:pskc\" contentId=\"{}\" version=\"{CPIX_VERSION}\">",
        escape(&req.content_id)
    );
    x.push_str("  <cpix:ContentKeyList>\n");
    for k in &req.keys {
        let _ = writeln!(
            x,
            "    <cpix:ContentKey kid=\"{}\" commonEncryptionScheme=\"{}\"/>",
            k.kid,
            req.scheme.as_str()
        );
    }
    x.push_str("  </cpix:ContentKeyList>\n  <cpix:DRMSystemList>\n");
    for k in &req.keys {
        for s in &req.systems {
            let _ = writeln!(
                x,
                "    <cpix:DRMSystem kid=\"{}\" systemId=\"{}\">",
                k.kid,
                s.system_id()
            );
            match s {
                DrmSystem::FairPlay => x.push_str("      <cpix:URIExtXKey/>\n"),
                DrmSystem::Aes128 => {}
                _ => x.push_str("      <cpix:PSSH/>\n      <cpix:ContentProtectionData/>\n"),
            }
            x.push_str("      <cpix:HLSSignalingData playlist=\"media\"/>\n");
            x.push_str("      <cpix:HLSSignalingData playlist=\"master\"/>\n");
            x.push_str("    </cpix:DRMSystem>\n");
        }
    }
    x.push_str("  </cpix:DRMSystemList>\n");
    if let Some(index) = req.period_index {
        let _ = writeln!(
            x,
            "  <cpix:ContentKeyPeriodList>\n    <cpix:ContentKeyPeriod id=\"{}\" index=\"{index}\"/>\n  </cpix:ContentKeyPeriodList>",
            period_id(index)
        );
    }
    x.push_str("  <cpix:ContentKeyUsageRuleList>\n");
    for k in &req.keys {
        for t in &k.tracks {
            let _ = writeln!(
                x,
                "    <cpix:ContentKeyUsageRule kid=\"{}\" intendedTrackType=\"{}\">",
                k.kid,
                t.as_str()
            );
            if let Some(index) = req.period_index {
                let _ = writeln!(
                    x,
                    "      <cpix:KeyPeriodFilter periodId=\"{}\"/>",
                    period_id(index)
                );
            }
            x.push_str(match t {
                TrackType::Video => "      <cpix:VideoFilter/>\n",
                TrackType::Audio => "      <cpix:AudioFilter/>\n",
            });
            x.push_str("    </cpix:ContentKeyUsageRule>\n");
        }
    }
    x.push_str("  </cpix:ContentKeyUsageRuleList>\n</cpix:CPIX>\n");
    x
}

/// XML attribute escaping.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A `ContentKey` as read.
#[derive(Default)]
struct RawKey {
    kid: String,
    explicit_iv: Option<String>,
    plain_value: Option<String>,
    encrypted: bool,
}

/// A `DRMSystem` as read.
#[derive(Default)]
struct RawSystem {
    kid: String,
    system_id: String,
    pssh: String,
    content_protection_data: String,
    hls_media: String,
    hls_master: String,
    uri_ext_x_key: String,
}

/// Where text goes while reading.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sink {
    None,
    PlainValue,
    Pssh,
    ContentProtectionData,
    HlsMedia,
    HlsMaster,
    UriExtXKey,
}

#[derive(Default)]
struct Raw {
    root: bool,
    content_id: Option<String>,
    version: Option<String>,
    keys: Vec<RawKey>,
    systems: Vec<RawSystem>,
    rules: Vec<(String, String)>,
}

fn xml(e: impl std::fmt::Display) -> DrmError {
    DrmError::MalformedXml(e.to_string())
}

/// Reads a provider's answer to `req`: every requested key with 16 bytes, its signalling
/// checked (PSSH boxes are `pssh` boxes of their system), KIDs accounted for.
pub fn parse_response(body: &[u8], req: &KeyRequest) -> Result<KeyResponse, DrmError> {
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(DrmError::TooLarge {
            limit: MAX_RESPONSE_BYTES,
        });
    }
    let raw = read(body)?;
    resolve(raw, req)
}

fn read(body: &[u8]) -> Result<Raw, DrmError> {
    let mut reader = Reader::from_reader(body);
    let decoder = reader.decoder();
    let mut raw = Raw::default();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut sink = Sink::None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| xml(format!("{e} at byte {}", reader.error_position())))?;
        match event {
            Event::Start(e) => {
                sink = open(&mut raw, &path, &e, decoder)?;
                path.push(e.local_name().as_ref().to_vec());
                if path.len() > MAX_DEPTH {
                    return Err(xml("elements nested too deep"));
                }
            }
            Event::Empty(e) => {
                open(&mut raw, &path, &e, decoder)?;
                sink = Sink::None;
            }
            Event::End(_) => {
                path.pop();
                sink = Sink::None;
            }
            Event::Text(t) => push_text(&mut raw, sink, &t.decode().map_err(xml)?),
            Event::CData(t) => push_text(&mut raw, sink, &t.decode().map_err(xml)?),
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(xml)?;
                let c = match r.resolve_char_ref().map_err(xml)? {
                    Some(c) => c,
                    None => match name.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => return Err(xml(format!("unknown entity &{name};"))),
                    },
                };
                push_text(&mut raw, sink, c.encode_utf8(&mut [0; 4]));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !raw.root {
        return Err(xml("no cpix:CPIX root element"));
    }
    Ok(raw)
}

/// Records an element that opens under `path`; returns where its text goes.
fn open(
    raw: &mut Raw,
    path: &[Vec<u8>],
    e: &BytesStart<'_>,
    decoder: Decoder,
) -> Result<Sink, DrmError> {
    let name = e.local_name();
    let parent = path.last().map(Vec::as_slice);
    let attr = |want: &str| -> Result<Option<String>, DrmError> {
        for a in e.attributes() {
            let a = a.map_err(xml)?;
            if a.key.local_name().as_ref() == want.as_bytes() {
                return Ok(Some(
                    a.decode_and_unescape_value(decoder)
                        .map_err(xml)?
                        .into_owned(),
                ));
            }
        }
        Ok(None)
    };
    let sink = match (parent, name.as_ref()) {
        (None, b"CPIX") => {
            raw.root = true;
            raw.content_id = attr("contentId")?;
            raw.version = attr("version")?;
            Sink::None
        }
        (None, other) => {
            return Err(xml(format!(
                "root element {} is not CPIX",
                String::from_utf8_lossy(other)
            )))
        }
        (Some(b"ContentKeyList"), b"ContentKey") => {
            raw.keys.push(RawKey {
                kid: attr("kid")?.unwrap_or_default(),
                explicit_iv: attr("explicitIV")?,
                ..RawKey::default()
            });
            Sink::None
        }
        (Some(b"Secret"), b"PlainValue") => Sink::PlainValue,
        (Some(b"Secret"), b"EncryptedValue") => {
            if let Some(k) = raw.keys.last_mut() {
                k.encrypted = true;
            }
            Sink::None
        }
        (Some(b"DRMSystemList"), b"DRMSystem") => {
            raw.systems.push(RawSystem {
                kid: attr("kid")?.unwrap_or_default(),
                system_id: attr("systemId")?.unwrap_or_default(),
                ..RawSystem::default()
            });
            Sink::None
        }
        (Some(b"DRMSystem"), b"PSSH") => Sink::Pssh,
        (Some(b"DRMSystem"), b"ContentProtectionData") => Sink::ContentProtectionData,
        (Some(b"DRMSystem"), b"URIExtXKey") => Sink::UriExtXKey,
        (Some(b"DRMSystem"), b"HLSSignalingData") => match attr("playlist")?.as_deref() {
            Some("master") => Sink::HlsMaster,
            // `media` is the default (CPIX 2.3 5.3.4).
            _ => Sink::HlsMedia,
        },
        (Some(b"ContentKeyUsageRuleList"), b"ContentKeyUsageRule") => {
            raw.rules.push((
                attr("kid")?.unwrap_or_default(),
                attr("intendedTrackType")?.unwrap_or_default(),
            ));
            Sink::None
        }
        _ => Sink::None,
    };
    Ok(sink)
}

fn push_text(raw: &mut Raw, sink: Sink, text: &str) {
    let target = match sink {
        Sink::None => return,
        Sink::PlainValue => match raw.keys.last_mut() {
            Some(k) => k.plain_value.get_or_insert_with(String::new),
            None => return,
        },
        _ => {
            let Some(s) = raw.systems.last_mut() else {
                return;
            };
            match sink {
                Sink::Pssh => &mut s.pssh,
                Sink::ContentProtectionData => &mut s.content_protection_data,
                Sink::HlsMedia => &mut s.hls_media,
                Sink::HlsMaster => &mut s.hls_master,
                _ => &mut s.uri_ext_x_key,
            }
        }
    };
    target.push_str(text);
}

fn parse_kid(s: &str) -> Result<Kid, DrmError> {
    Kid::parse_uuid(s.trim()).ok_or_else(|| xml(format!("KID {s:?} is not a UUID")))
}

fn base64(s: &str) -> Result<Vec<u8>, String> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact).map_err(|e| e.to_string())
}

fn resolve(raw: Raw, req: &KeyRequest) -> Result<KeyResponse, DrmError> {
    if raw.content_id.as_deref() != Some(req.content_id.as_str()) {
        return Err(DrmError::WrongDocument(format!(
            "contentId {:?}, asked for {:?}",
            raw.content_id.unwrap_or_default(),
            req.content_id
        )));
    }
    if raw.version.as_deref() != Some(CPIX_VERSION) {
        return Err(DrmError::WrongDocument(format!(
            "CPIX version {:?}, asked for {CPIX_VERSION}",
            raw.version.unwrap_or_default()
        )));
    }
    let answered: Vec<Kid> = raw
        .keys
        .iter()
        .map(|k| parse_kid(&k.kid))
        .collect::<Result<_, _>>()?;
    let rules: Vec<(Kid, &str)> = raw
        .rules
        .iter()
        .map(|(k, t)| Ok((parse_kid(k)?, t.as_str())))
        .collect::<Result<_, DrmError>>()?;
    let mut used = vec![false; answered.len()];
    let mut keys = Vec::with_capacity(req.keys.len());
    for want in &req.keys {
        // The same KID, else the provider's override: the answered key whose usage rule is
        // for this key's tracks.
        let found = answered
            .iter()
            .position(|k| *k == want.kid)
            .or_else(|| {
                answered.iter().enumerate().position(|(i, k)| {
                    !used[i]
                        && !req.keys.iter().any(|r| r.kid == *k)
                        && want
                            .tracks
                            .iter()
                            .all(|t| rules.iter().any(|(rk, rt)| rk == k && *rt == t.as_str()))
                })
            })
            .ok_or(DrmError::MissingKey { kid: want.kid })?;
        used[found] = true;
        let kid = answered[found];
        let rawkey = &raw.keys[found];
        if rawkey.encrypted {
            return Err(xml(format!(
                "key of KID {kid} is encrypted; the request asked for plain values"
            )));
        }
        let value = rawkey
            .plain_value
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .ok_or(DrmError::MissingKey { kid })?;
        let bytes = base64(value).map_err(|e| xml(format!("PlainValue of KID {kid}: {e}")))?;
        let key: [u8; 16] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| DrmError::KeyLength {
                kid,
                len: bytes.len(),
            })?;
        let explicit_iv = match rawkey.explicit_iv.as_deref() {
            None | Some("") => None,
            Some(iv) => {
                let b = base64(iv).map_err(|e| xml(format!("explicitIV of KID {kid}: {e}")))?;
                Some(
                    b.as_slice()
                        .try_into()
                        .map_err(|_| xml(format!("explicitIV of KID {kid} is not 16 bytes")))?,
                )
            }
        };
        keys.push(ProvidedKey {
            requested: want.kid,
            kid,
            key,
            explicit_iv,
            tracks: want.tracks.clone(),
            systems: Vec::new(),
        });
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(DrmError::KidMismatch {
            kid: answered[i].uuid(),
        });
    }
    for (k, _) in &rules {
        if !keys.iter().any(|p| p.kid == *k) {
            return Err(DrmError::KidMismatch { kid: k.uuid() });
        }
    }
    for s in raw.systems {
        let kid = parse_kid(&s.kid)?;
        let Some(key) = keys.iter_mut().find(|p| p.kid == kid) else {
            return Err(DrmError::KidMismatch { kid: kid.uuid() });
        };
        // Systems we did not ask for are ignored.
        let Some(system) =
            DrmSystem::from_system_id(s.system_id.trim()).filter(|sys| req.systems.contains(sys))
        else {
            continue;
        };
        let text = |field: &str, what: &str| -> Result<Option<String>, DrmError> {
            if field.trim().is_empty() {
                return Ok(None);
            }
            let bytes = base64(field).map_err(|e| xml(format!("{what} of KID {kid}: {e}")))?;
            String::from_utf8(bytes)
                .map(|s| Some(s.trim().to_owned()))
                .map_err(|_| xml(format!("{what} of KID {kid} is not UTF-8")))
        };
        let pssh = if s.pssh.trim().is_empty() {
            None
        } else {
            let b = base64(&s.pssh).map_err(|e| xml(format!("PSSH of KID {kid}: {e}")))?;
            check_pssh(&b, system).map_err(|reason| DrmError::BadPssh { kid, reason })?;
            Some(b)
        };
        let hls_media = text(&s.hls_media, "HLSSignalingData")?;
        let hls_master = text(&s.hls_master, "HLSSignalingData")?;
        for line in hls_media.iter().chain(&hls_master) {
            if !line.starts_with("#EXT") {
                return Err(xml(format!(
                    "HLSSignalingData of KID {kid} is not a playlist tag"
                )));
            }
        }
        key.systems.push(SystemData {
            system,
            pssh,
            content_protection_data: text(&s.content_protection_data, "ContentProtectionData")?,
            hls_media,
            hls_master,
            uri_ext_x_key: text(&s.uri_ext_x_key, "URIExtXKey")?,
        });
    }
    Ok(KeyResponse { keys })
}

/// Checks that `b` is exactly one `pssh` box (ISO/IEC 23001-7 8.1.1) of `system`.
pub fn check_pssh(b: &[u8], system: DrmSystem) -> Result<(), &'static str> {
    // size(4) type(4) version+flags(4) SystemID(16) [KID_count(4) KIDs] DataSize(4)
    let header = b.get(..32).ok_or("shorter than a pssh box header")?;
    let size = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    if usize::try_from(size).ok() != Some(b.len()) {
        return Err("box size differs from the data's length");
    }
    if &header[4..8] != b"pssh" {
        return Err("not a pssh box");
    }
    let version = header[8];
    if version > 1 {
        return Err("pssh version above 1");
    }
    if header[12..28] != system.system_id_bytes() {
        return Err("SystemID differs from the DRM system's");
    }
    let mut at = 28usize;
    if version == 1 {
        let count = read_u32(b, at)?;
        let kids_len = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(16))
            .ok_or("KID count overflows")?;
        at = at
            .checked_add(4)
            .and_then(|a| a.checked_add(kids_len))
            .ok_or("KID count overflows")?;
    }
    let data_size = usize::try_from(read_u32(b, at)?).map_err(|_| "DataSize overflows")?;
    if at.checked_add(4).and_then(|a| a.checked_add(data_size)) != Some(b.len()) {
        return Err("DataSize does not end the box");
    }
    Ok(())
}

fn read_u32(b: &[u8], at: usize) -> Result<u32, &'static str> {
    let s = b
        .get(at..at.checked_add(4).ok_or("truncated")?)
        .ok_or("truncated")?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
