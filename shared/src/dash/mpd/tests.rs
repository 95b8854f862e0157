use super::*;

fn mpd() -> Mpd {
    let video = Representation {
        id: "stream_0_index-video".into(),
        bandwidth: 1_240_800,
        codecs: "avc1.64001e".into(),
        width: Some(640),
        height: Some(360),
        frame_rate: Some("30".into()),
        sample_rate: None,
        channels: None,
        timescale: 90_000,
        presentation_time_offset: 126_000,
        initialization: "stream_0/index/video_init_0123456789abcdef.mp4".into(),
        media: "stream_0/index/video_$Number$.m4s".into(),
        start_number: 5,
        segments: vec![
            (126_000, 180_000),
            (306_000, 180_000),
            (486_000, 180_000),
            (700_000, 90_000),
        ],
    };
    let audio = Representation {
        id: "stream_2_index-audio".into(),
        bandwidth: 96_000,
        codecs: "mp4a.40.2".into(),
        width: None,
        height: None,
        frame_rate: None,
        sample_rate: Some(48_000),
        channels: Some(2),
        timescale: 48_000,
        presentation_time_offset: 67_200,
        initialization: "stream_2/index/audio_init_fedcba9876543210.mp4".into(),
        media: "stream_2/index/audio_$Number$.m4s".into(),
        start_number: 5,
        segments: vec![(67_200, 96_256), (163_456, 95_232)],
    };
    Mpd {
        mpd_type: MpdType::Dynamic {
            availability_start_ms: 0,
            publish_time_ms: 1_795_435_210_500,
            min_update_period_s: Some(2),
            time_shift_buffer_depth_ms: Some(60_000),
            suggested_presentation_delay_s: 6,
        },
        min_buffer_time_s: 4,
        utc_timing_url: Some("http://127.0.0.1:8787/time".into()),
        periods: vec![Period {
            id: "5".into(),
            start_ms: 1_795_435_200_000,
            duration_ms: None,
            adaptation_sets: vec![
                AdaptationSet {
                    content_protection: Vec::new(),
                    id: 1,
                    kind: TrackKind::Video,
                    lang: None,
                    representations: vec![video],
                },
                AdaptationSet {
                    content_protection: Vec::new(),
                    id: 2,
                    kind: TrackKind::Audio,
                    lang: Some("en".into()),
                    representations: vec![audio],
                },
            ],
        }],
    }
}

#[test]
fn writes_a_dynamic_mpd() {
    let text = write_mpd(&mpd());
    let golden = include_str!("../../../tests/golden/dynamic.mpd");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/dynamic.mpd"),
            &text,
        )
        .unwrap();
        return;
    }
    assert_eq!(text, golden);
}

#[test]
fn timeline_repeats_and_gaps() {
    let text = write_mpd(&mpd());
    assert!(
        text.contains(r#"<S t="126000" d="180000" r="2"/>"#),
        "{text}"
    );
    assert!(text.contains(r#"<S t="700000" d="90000"/>"#), "{text}");
    assert!(text.contains(r#"<S t="67200" d="96256"/>"#));
    assert!(text.contains(r#"<S d="95232"/>"#));
}

#[test]
fn the_document_parses_as_xml() {
    use quick_xml::events::Event;
    let text = write_mpd(&mpd());
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut names = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e) | Event::Empty(e)) => {
                names.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap())
            }
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(names.iter().filter(|n| *n == "Representation").count(), 2);
    assert_eq!(names.first().map(String::as_str), Some("MPD"));
    assert!(names.contains(&"UTCTiming".to_owned()));
}

#[test]
fn static_mpd_for_vod() {
    let mut m = mpd();
    m.mpd_type = MpdType::Static {
        duration_ms: 20_000,
    };
    m.utc_timing_url = None;
    m.periods[0].start_ms = 0;
    let text = write_mpd(&m);
    assert!(text.contains(r#"type="static""#));
    assert!(text.contains(r#"mediaPresentationDuration="PT20.000S""#));
    assert!(
        text.contains(r#"<Period id="5" start="PT0.000S">"#),
        "{text}"
    );
    for live in [
        "availabilityStartTime",
        "publishTime",
        "minimumUpdatePeriod",
        "UTCTiming",
    ] {
        assert!(!text.contains(live), "{live}: {text}");
    }
}

#[test]
fn final_and_shifted_dynamic_mpds() {
    let mut m = mpd();
    m.mpd_type = MpdType::Dynamic {
        availability_start_ms: 60_000,
        publish_time_ms: 1_795_435_210_500,
        min_update_period_s: None,
        time_shift_buffer_depth_ms: Some(75_250),
        suggested_presentation_delay_s: 6,
    };
    m.periods[0].duration_ms = Some(8_000);
    let text = write_mpd(&m);
    assert!(
        text.contains(r#"availabilityStartTime="1970-01-01T00:01:00.000Z""#),
        "{text}"
    );
    assert!(!text.contains("minimumUpdatePeriod"), "{text}");
    assert!(text.contains(r#"timeShiftBufferDepth="PT75.250S""#));
    assert!(text.contains(r#"start="PT1795435200.000S" duration="PT8.000S""#));
}
