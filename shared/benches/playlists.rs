//! Playlist rendering: a 100-segment live rendition playlist and a 6-rendition master, against
//! m3u8-rs writing the same playlists (the reference measured in the same run).
//!
//! `cargo bench -p edgepack --bench playlists`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use edgepack::failover::{output_segments, SwitchLog};
use edgepack::hls::master::{AudioMedia, Variant};
use edgepack::hls::{live_window, render_master, render_media, MasterEntry, MediaWindow};
use edgepack::model::Endpoint;
use edgepack::model::InputId;
use edgepack::names::Name;
use edgepack::names::Rendition;
use edgepack::timeline::{Segment, Timeline, TIMESCALE};
use std::hint::black_box;

fn timeline(n: u64) -> Timeline {
    let mut t = Timeline::default();
    for i in 0..n {
        t.push(Segment {
            seq: 1000 + i,
            enc_seq: 1000 + i,
            uri: format!("stream_0/seg{i:05}.ts"),
            key: format!("seg/abcdef/1/stream_0/seg{i:05}.ts@1795435200000"),
            duration: 2 * TIMESCALE + 180,
            size: 1_250_000,
            pdt_ms: 1_795_435_200_000 + 2002 * i as i64,
            media_start: Some(i * 180_180),
            arrived_ms: 1_795_435_200_000 + 2002 * i,
            discontinuity: i == 50,
            tracks: Vec::new(),
            init_key: None,
            ts_cc: None,
            claim: None,
        });
    }
    t
}

fn endpoint(segment_count: u64, pdt: u64) -> Endpoint {
    let n = |s| Name::parse(s).unwrap();
    let mut e = Endpoint::new(n("demo"), n("live"), n("hls"), 0);
    e.segment_count = segment_count;
    e.program_date_time_interval = pdt;
    e
}

fn m3u8_rs_media(t: &Timeline) -> m3u8_rs::MediaPlaylist {
    m3u8_rs::MediaPlaylist {
        version: Some(3),
        target_duration: t.target_duration,
        media_sequence: t.segments[0].seq,
        segments: t
            .segments
            .iter()
            .map(|s| m3u8_rs::MediaSegment {
                uri: format!("{}.ts", s.seq),
                duration: s.duration as f32 / TIMESCALE as f32,
                discontinuity: s.discontinuity,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn variants() -> Vec<Variant> {
    (0..5)
        .map(|i| Variant {
            rendition: Rendition::parse(&format!("stream_{i}/index")).expect("valid id"),
            bandwidth: 800_000 * (i + 1),
            average_bandwidth: Some(700_000 * (i + 1)),
            codecs: Some("avc1.64001f,mp4a.40.2".into()),
            resolution: Some((320 * (i + 1), 180 * (i + 1))),
            frame_rate: Some(30.0),
            audio: Some("aud".into()),
        })
        .collect()
}

/// The output path a rendition playlist request takes after its reads: map through the switch
/// log, choose the live window, write.
fn render(log: &SwitchLog, t: &Timeline, count: u64, pdt: u64) -> String {
    let all = output_segments(log, [Some(t), None]);
    let segments = live_window(&all, 3 * t.target_duration, count);
    let window = MediaWindow {
        version: 3,
        target_duration: t.target_duration,
        discontinuity_sequence: 0,
        playlist_type: None,
        end_list: false,
        hold_back_s: Some(3 * t.target_duration),
        can_block_reload: true,
        segments,
    };
    render_media(&window, pdt, |s| format!("{}.ts", s.seq), |_| None)
}

fn bench(c: &mut Criterion) {
    let t = timeline(100);
    let log = SwitchLog::starting_with(InputId::PRIMARY, 0);
    let ep = endpoint(100, 0);
    let text = render(&log, &t, 100, 0);
    let mut g = c.benchmark_group("media_playlist_100");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("edgepack", |b| {
        b.iter(|| render(&log, black_box(&t), ep.segment_count, 0))
    });
    g.bench_function("edgepack_with_pdt", |b| {
        b.iter(|| render(&log, black_box(&t), 100, 6))
    });
    let json = serde_json::to_vec(&t).unwrap();
    g.bench_function("edgepack_decode_timeline_and_render", |b| {
        b.iter(|| {
            let t: Timeline = serde_json::from_slice(black_box(&json)).unwrap();
            render(&log, &t, 100, 0)
        })
    });
    let reference = m3u8_rs_media(&t);
    g.bench_function("m3u8_rs_write", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(8192);
            black_box(&reference).write_to(&mut out).unwrap();
            out
        })
    });
    g.finish();

    let vs = variants();
    let audio = AudioMedia {
        rendition: Rendition::parse("stream_5/index"),
        group_id: "aud".into(),
        name: "audio_0".into(),
        language: None,
        default: true,
        autoselect: true,
        channels: None,
    };
    let entries: Vec<MasterEntry<'_>> = vs
        .iter()
        .map(|v| MasterEntry {
            variant: v,
            uri: format!("{}/media.m3u8", v.rendition),
        })
        .collect();
    let audio_list = [(&audio, Some("stream_5/index/media.m3u8".to_owned()))];
    let mut g = c.benchmark_group("master_6_renditions");
    g.bench_function("edgepack", |b| {
        b.iter(|| render_master(black_box(&ep), 3, false, &entries, &audio_list))
    });
    let master_text = render_master(&ep, 3, false, &entries, &audio_list).unwrap();
    let reference = match m3u8_rs::parse_playlist_res(master_text.as_bytes()) {
        Ok(m3u8_rs::Playlist::MasterPlaylist(m)) => m,
        _ => panic!("our master must parse as a master playlist"),
    };
    g.bench_function("m3u8_rs_write", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(2048);
            black_box(&reference).write_to(&mut out).unwrap();
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
