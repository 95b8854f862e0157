//! What a Representation inherits (ISO/IEC 23009-1 5.3.7, 5.3.9.1): attributes it lacks come
//! from its AdaptationSet, `SegmentTemplate` attributes from the AdaptationSet, then the Period.

use super::{
    invalid, quote, Common, ContentKind, PeriodState, Rep, Set, SourceMpdError,
    SourceRepresentation, Template,
};

/// The Representations of a Period read to its end, with what they inherit.
pub(super) fn period(period: &PeriodState) -> Result<Vec<SourceRepresentation>, SourceMpdError> {
    let mut out = Vec::with_capacity(period.representations);
    for set in &period.sets {
        for rep in &set.representations {
            out.push(representation(period, set, rep)?);
        }
    }
    Ok(out)
}

fn representation(
    period: &PeriodState,
    set: &Set,
    rep: &Rep,
) -> Result<SourceRepresentation, SourceMpdError> {
    let (own, inherited) = (&rep.common, &set.common);
    let pick = |f: fn(&Common) -> &Option<String>| f(own).clone().or_else(|| f(inherited).clone());
    let codecs = pick(|c| &c.codecs);
    let mime_type = pick(|c| &c.mime_type);
    let template = |f: fn(&Template) -> &Option<String>| {
        let value = f(&own.template).as_ref();
        let value = value
            .or(f(&inherited.template).as_ref())
            .or(f(&period.template).as_ref());
        value
            .map(|t| substitute(t, &rep.id, rep.bandwidth))
            .transpose()
    };
    let mut roles = inherited.roles.clone();
    roles.extend(
        own.roles
            .iter()
            .filter(|r| !inherited.roles.contains(r))
            .cloned(),
    );
    Ok(SourceRepresentation {
        id: rep.id.clone(),
        kind: kind(
            set.content_type.as_deref(),
            mime_type.as_deref(),
            codecs.as_deref(),
        ),
        codecs,
        bandwidth: rep.bandwidth,
        width: own.width.or(inherited.width),
        height: own.height.or(inherited.height),
        frame_rate: own.frame_rate.or(inherited.frame_rate),
        audio_sampling_rate: own.audio_sampling_rate.or(inherited.audio_sampling_rate),
        language: inherited.lang.clone().or_else(|| own.lang.clone()),
        label: pick(|c| &c.label).or_else(|| set.label.clone()),
        roles,
        audio_channels: pick(|c| &c.audio_channels),
        initialization: template(|t| &t.initialization)?,
        media: template(|t| &t.media)?,
    })
}

pub(super) fn kind(
    content_type: Option<&str>,
    mime_type: Option<&str>,
    codecs: Option<&str>,
) -> ContentKind {
    match content_type {
        Some("video") => return ContentKind::Video,
        Some("audio") => return ContentKind::Audio,
        Some(_) => return ContentKind::Other,
        None => {}
    }
    if let Some(mime_type) = mime_type {
        if mime_type.starts_with("video/") {
            return ContentKind::Video;
        }
        if mime_type.starts_with("audio/") {
            return ContentKind::Audio;
        }
    }
    // RFC 6381 `codecs`: the first entry's sample entry type.
    let first = codecs.and_then(|c| c.split(',').next()).unwrap_or_default();
    match first.trim().split('.').next() {
        Some("avc1" | "avc3" | "hvc1" | "hev1") => ContentKind::Video,
        Some("mp4a" | "ac-3" | "ec-3" | "opus" | "Opus") => ContentKind::Audio,
        _ => ContentKind::Other,
    }
}

/// `$RepresentationID$`, `$Bandwidth$` and `$Bandwidth%0<width>d$` replaced (5.3.9.4.4); every
/// other identifier, and the `$$` escape, kept as written.
pub(super) fn substitute(
    template: &str,
    id: &str,
    bandwidth: u64,
) -> Result<String, SourceMpdError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let j = after.find('$').ok_or_else(|| {
            invalid(format!(
                "SegmentTemplate `{}` has an unpaired `$`",
                quote(template)
            ))
        })?;
        let identifier = &after[..j];
        let width = identifier
            .strip_prefix("Bandwidth%0")
            .and_then(|w| w.strip_suffix('d'))
            .and_then(|w| w.parse::<usize>().ok())
            // u64's widest value has 20 digits.
            .filter(|w| *w <= 20);
        match (identifier, width) {
            ("RepresentationID", _) => out.push_str(id),
            ("Bandwidth", _) => out.push_str(&bandwidth.to_string()),
            (_, Some(width)) => out.push_str(&format!("{bandwidth:0width$}")),
            _ => {
                out.push('$');
                out.push_str(identifier);
                out.push('$');
            }
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
