use super::resolve::{kind, substitute};
use super::*;

const FFMPEG_LDASH: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/dash/ffmpeg_ldash_live.mpd"
));

/// An MPD around `period_body`, one Period.
fn mpd(period_body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic"><Period id="p">{period_body}</Period></MPD>"#
    )
}

fn parse(text: &str) -> Result<SourceMpd, SourceMpdError> {
    parse_source_mpd(text.as_bytes())
}

#[test]
fn ffmpeg_ldash_mpd_golden() {
    let video = |id: &str, codecs: &str, bandwidth, width, height| SourceRepresentation {
        id: id.into(),
        kind: ContentKind::Video,
        codecs: Some(codecs.into()),
        bandwidth,
        width: Some(width),
        height: Some(height),
        frame_rate: Some(25.0),
        audio_sampling_rate: None,
        language: None,
        label: None,
        roles: vec![],
        audio_channels: None,
        initialization: Some(format!("init-stream{id}.m4s")),
        media: Some(format!("chunk-stream{id}-$Number%05d$.m4s")),
    };
    let audio = SourceRepresentation {
        id: "2".into(),
        kind: ContentKind::Audio,
        codecs: Some("mp4a.40.2".into()),
        bandwidth: 64_000,
        width: None,
        height: None,
        frame_rate: None,
        audio_sampling_rate: Some(48_000),
        language: None,
        label: None,
        roles: vec![],
        audio_channels: Some("1".into()),
        initialization: Some("init-stream2.m4s".into()),
        media: Some("chunk-stream2-$Number%05d$.m4s".into()),
    };
    assert_eq!(
        parse_source_mpd(FFMPEG_LDASH),
        Ok(SourceMpd {
            representations: vec![
                video("0", "avc1.64001e", 800_000, 640, 360),
                video("1", "avc1.64000d", 300_000, 320, 180),
                audio,
            ]
        })
    );
}

#[test]
fn adaptation_set_template_lang_label_and_role_are_inherited() {
    let text = mpd(r#"
        <AdaptationSet mimeType="audio/mp4" lang="de" codecs="mp4a.40.2" audioSamplingRate="44100">
          <Label>Deutsch &amp; mehr</Label>
          <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>
          <Role schemeIdUri="urn:example:other" value="ignored"/>
          <AudioChannelConfiguration schemeIdUri="urn:mpeg:mpegB:cicp:ChannelConfiguration" value="2"/>
          <SegmentTemplate timescale="44100" initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number$.m4s"/>
          <Representation id="a-hi" bandwidth="128000"/>
          <Representation id="a-lo" bandwidth="64000" codecs="mp4a.40.5">
            <Label>low</Label>
            <Role schemeIdUri="urn:mpeg:dash:role:2011" value="alternate"/>
          </Representation>
        </AdaptationSet>"#);
    let reps = parse(&text).unwrap().representations;
    assert_eq!(reps.len(), 2);
    let (hi, lo) = (&reps[0], &reps[1]);
    assert_eq!(hi.kind, ContentKind::Audio);
    assert_eq!(hi.codecs.as_deref(), Some("mp4a.40.2"));
    assert_eq!(hi.language.as_deref(), Some("de"));
    assert_eq!(hi.label.as_deref(), Some("Deutsch & mehr"));
    assert_eq!(hi.roles, ["main"]);
    assert_eq!(hi.audio_channels.as_deref(), Some("2"));
    assert_eq!(hi.audio_sampling_rate, Some(44_100));
    assert_eq!(hi.initialization.as_deref(), Some("a-hi/init.mp4"));
    assert_eq!(hi.media.as_deref(), Some("a-hi/$Number$.m4s"));
    assert_eq!(lo.codecs.as_deref(), Some("mp4a.40.5"));
    assert_eq!(lo.label.as_deref(), Some("low"));
    assert_eq!(lo.roles, ["main", "alternate"]);
    assert_eq!(lo.initialization.as_deref(), Some("a-lo/init.mp4"));
    assert_eq!(lo.media.as_deref(), Some("a-lo/$Number$.m4s"));
}

#[test]
fn segment_template_attributes_merge_representation_over_set_over_period() {
    let text = mpd(r#"
        <SegmentTemplate initialization="p/$RepresentationID$.mp4" media="p/$Time$.m4s"/>
        <AdaptationSet contentType="video" label="Main" frameRate="30000/1001">
          <SegmentTemplate media="s/$Bandwidth$/$Number$.m4s"/>
          <Representation id="v" bandwidth="500" width="1280" height="720">
            <SegmentTemplate media="r/$Bandwidth%08d$-$$-$Time$.m4s"/>
          </Representation>
          <Representation id="w" bandwidth="900"/>
        </AdaptationSet>"#);
    let reps = parse(&text).unwrap().representations;
    assert_eq!(reps[0].initialization.as_deref(), Some("p/v.mp4"));
    assert_eq!(reps[0].media.as_deref(), Some("r/00000500-$$-$Time$.m4s"));
    assert_eq!(reps[1].media.as_deref(), Some("s/900/$Number$.m4s"));
    assert_eq!(reps[0].label.as_deref(), Some("Main"));
    assert_eq!(reps[0].frame_rate, Some(30_000.0 / 1001.0));
    assert_eq!((reps[0].width, reps[1].width), (Some(1280), None));
}

#[test]
fn the_last_period_wins() {
    let text = r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">
        <Period id="1"><AdaptationSet><Representation id="old" bandwidth="1"/></AdaptationSet></Period>
        <Period id="2"><AdaptationSet><Representation id="new" bandwidth="2" codecs="hvc1.1.6.L93.B0"/></AdaptationSet></Period>
        </MPD>"#;
    let reps = parse(text).unwrap().representations;
    assert_eq!(reps.len(), 1);
    assert_eq!(reps[0].id, "new");
    assert_eq!(reps[0].kind, ContentKind::Video);
}

#[test]
fn namespace_prefixes_and_unknown_elements_are_ignored() {
    let text = r#"<dash:MPD xmlns:dash="urn:mpeg:dash:schema:mpd:2011"><dash:Period>
        <dash:ServiceDescription><Latency target="3000"/></dash:ServiceDescription>
        <dash:AdaptationSet><x:Representation xmlns:x="urn:example" id="not-here"/>
          <dash:Representation id="r" bandwidth="7" codecs="ec-3" x:id="prefixed"/>
        </dash:AdaptationSet></dash:Period></dash:MPD>"#;
    let reps = parse(text).unwrap().representations;
    // `x:Representation` matches on its local name: prefixes are not resolved.
    assert_eq!(reps.len(), 2);
    assert_eq!(reps[1].id, "r");
    assert_eq!(reps[1].kind, ContentKind::Audio);
}

#[test]
fn kind_falls_back_from_content_type_to_mime_type_to_codecs() {
    assert_eq!(
        kind(Some("text"), Some("video/mp4"), None),
        ContentKind::Other
    );
    assert_eq!(
        kind(None, Some("video/mp4"), Some("mp4a.40.2")),
        ContentKind::Video
    );
    assert_eq!(
        kind(None, Some("application/mp4"), Some("avc3.64001f")),
        ContentKind::Video
    );
    assert_eq!(kind(None, None, Some("opus,avc1")), ContentKind::Audio);
    assert_eq!(kind(None, None, Some("wvtt")), ContentKind::Other);
    assert_eq!(kind(None, None, None), ContentKind::Other);
}

#[test]
fn template_identifiers_other_than_id_and_bandwidth_are_kept() {
    assert_eq!(
        substitute("$$a$RepresentationID$b", "x", 1).unwrap(),
        "$$axb"
    );
    assert_eq!(
        substitute("$Number%05d$-$Time$", "x", 1).unwrap(),
        "$Number%05d$-$Time$"
    );
    assert_eq!(
        substitute("$Bandwidth%099d$", "x", 1).unwrap(),
        "$Bandwidth%099d$"
    );
    assert!(matches!(
        substitute("a$Number", "x", 1),
        Err(SourceMpdError::Invalid(_))
    ));
}

#[test]
fn not_xml_is_refused() {
    for body in [
        "not xml at all",
        "",
        "<MPD><Period></MPD>",
        "<MPD a=\"1\" a=\"2\"/>",
        "<MPD><Period>",
    ] {
        assert!(
            matches!(parse(body), Err(SourceMpdError::Xml(_))),
            "{body:?}"
        );
    }
    assert!(matches!(
        parse_source_mpd(b"<MPD>\xff</MPD>"),
        Err(SourceMpdError::Xml(_))
    ));
    assert!(matches!(
        parse("<MPD><Period/></MPD><MPD/>"),
        Err(SourceMpdError::Xml(_))
    ));
}

#[test]
fn a_utf8_byte_order_mark_is_skipped() {
    let mut body = b"\xef\xbb\xbf".to_vec();
    body.extend_from_slice(FFMPEG_LDASH);
    assert_eq!(parse_source_mpd(&body).unwrap().representations.len(), 3);
}

#[test]
fn a_root_other_than_mpd_is_refused() {
    assert_eq!(parse("<html><body/></html>"), Err(SourceMpdError::NotMpd));
}

#[test]
fn an_mpd_without_period_is_refused() {
    let text = r#"<MPD><AdaptationSet><Representation id="a"/></AdaptationSet></MPD>"#;
    assert_eq!(parse(text), Err(SourceMpdError::NoPeriod));
}

#[test]
fn more_than_64_representations_are_refused() {
    let reps = |n: usize| {
        let body: String = (0..n)
            .map(|i| format!(r#"<Representation id="r{i}" bandwidth="1"/>"#))
            .collect();
        mpd(&format!("<AdaptationSet>{body}</AdaptationSet>"))
    };
    assert_eq!(parse(&reps(64)).unwrap().representations.len(), 64);
    assert_eq!(
        parse(&reps(65)),
        Err(SourceMpdError::TooManyRepresentations)
    );
}

#[test]
fn too_large_is_refused_before_parsing() {
    let body = vec![b'<'; MAX_SOURCE_MPD_BYTES + 1];
    assert_eq!(parse_source_mpd(&body), Err(SourceMpdError::TooLarge));
}

#[test]
fn bad_representation_ids_are_refused() {
    let rep = |attrs: &str| {
        mpd(&format!(
            "<AdaptationSet><Representation {attrs}/></AdaptationSet>"
        ))
    };
    for attrs in [r#"id="""#, r#"bandwidth="1""#] {
        assert!(
            matches!(parse(&rep(attrs)), Err(SourceMpdError::Invalid(_))),
            "{attrs}"
        );
    }
    let long = format!(r#"id="{}""#, "i".repeat(65));
    assert!(matches!(
        parse(&rep(&long)),
        Err(SourceMpdError::Invalid(_))
    ));
    let twice = mpd(r#"<AdaptationSet><Representation id="a"/></AdaptationSet>
        <AdaptationSet><Representation id="a"/></AdaptationSet>"#);
    assert!(matches!(parse(&twice), Err(SourceMpdError::Invalid(_))));
}

#[test]
fn hostile_values_and_nesting_are_refused() {
    let rep = |attrs: &str| {
        mpd(&format!(
            r#"<AdaptationSet><Representation id="a" {attrs}/></AdaptationSet>"#
        ))
    };
    for attrs in [
        r#"bandwidth="lots""#,
        r#"width="-1""#,
        r#"frameRate="25/0""#,
        &format!(r#"codecs="{}""#, "a".repeat(MAX_VALUE_BYTES + 1)),
    ] {
        assert!(
            matches!(parse(&rep(attrs)), Err(SourceMpdError::Invalid(_))),
            "{attrs}"
        );
    }
    let label = mpd(&format!(
        "<AdaptationSet><Label>{}</Label></AdaptationSet>",
        "l".repeat(2000)
    ));
    assert!(matches!(parse(&label), Err(SourceMpdError::Invalid(_))));
    let deep = format!("<MPD>{}{}</MPD>", "<a>".repeat(40), "</a>".repeat(40));
    assert!(matches!(parse(&deep), Err(SourceMpdError::Invalid(_))));
}

#[test]
fn messages_quote_little_input() {
    let long = "x".repeat(500);
    let cases = [
        mpd(&format!(
            r#"<AdaptationSet><Representation id="{long}"/></AdaptationSet>"#
        )),
        mpd(&format!(
            r#"<AdaptationSet><Representation id="a" width="{long}"/></AdaptationSet>"#
        )),
        format!("<MPD><{long}></{long}x></MPD>"),
        format!("<MPD>&{long};</MPD>"),
        format!(
            "<MPD><Resync x=\"{}\"/></MPD>",
            "y".repeat(MAX_VALUE_BYTES + 1)
        ),
        "<MPD><Period>".into(),
        "".into(),
        "<MPD><Period></MPD>".into(),
    ];
    for text in cases {
        let message = parse(&text).unwrap_err().to_string();
        assert!(message.len() < 2 * MAX_QUOTE_BYTES + 40, "{message}");
    }
}
