//! Cost of Common Encryption on a 2 s 1080p ~5 Mbit/s H.264 + AAC segment (the `media_remux`
//! input): the clear TS → CMAF remux of both tracks, against the same remux followed by
//! `cbcs` and by `cenc` encryption of both tracks (`Encryptor::encrypt_segment`, the call an
//! endpoint makes), all measured in the same run; the encryption alone is listed too.
//!
//! `cargo bench -p edgepack --bench media_cenc` (the segment is generated with ffmpeg into
//! /tmp on first use; set EDGEPACK_BENCH_TS to use another file). In WebAssembly:
//! `node shared/benches/media_wasm.mjs media_cenc` (V8) after one native run.

mod common;

use common::{median, ratio, Table};
use edgepack::media::cenc::cipher::{Cipher, Pattern};
use edgepack::media::cenc::{Encryptor, Scheme, TrackProtection};
use edgepack::media::remux::{ts_to_cmaf, RemuxOptions, RemuxedSegment};
use std::hint::black_box;
use std::time::Duration;

fn encryptors(remuxed: &RemuxedSegment, scheme: Scheme) -> Vec<Encryptor> {
    let protection = TrackProtection {
        scheme,
        kid: [0x11; 16],
        key: [0x22; 16],
        iv: [0x33; 16],
        pssh: Vec::new(),
    };
    remuxed
        .tracks
        .iter()
        .map(|t| Encryptor::new(&t.track, &protection).unwrap())
        .collect()
}

fn encrypt(remuxed: &RemuxedSegment, encryptors: &[Encryptor]) -> usize {
    remuxed
        .tracks
        .iter()
        .zip(encryptors)
        .map(|(t, e)| black_box(e.encrypt_segment(&t.segment).unwrap()).len())
        .sum()
}

fn main() {
    // `cargo test --benches` runs this without --bench: keep that fast.
    if !common::benching() {
        return;
    }
    let ts = common::ts_segment_1080p();
    let options = RemuxOptions::default();
    let remuxed = ts_to_cmaf(&ts, &options).expect("remux");
    let clear: usize = remuxed.tracks.iter().map(|t| t.segment.len()).sum();
    let budget = Duration::from_secs(3);

    let remux = median(budget, || {
        black_box(ts_to_cmaf(black_box(&ts), &options).unwrap());
    });
    let mut rows = Vec::new();
    for scheme in [Scheme::Cbcs, Scheme::Cenc] {
        // Built once per track, as an endpoint would keep them for a key period.
        let encryptors = encryptors(&remuxed, scheme);
        let alone = median(budget, || {
            black_box(encrypt(black_box(&remuxed), &encryptors));
        });
        let both = median(budget, || {
            let r = ts_to_cmaf(black_box(&ts), &options).unwrap();
            black_box(encrypt(&r, &encryptors));
        });
        rows.push((scheme, alone, both));
    }
    // The ciphers alone over a buffer of the CMAF output's size, and a memcpy of it.
    let mut buf = vec![0x5Au8; clear];
    let cipher = Cipher::new(&[0x22; 16]);
    let ctr = median(budget, || {
        cipher.ctr([1; 8]).apply(black_box(&mut buf));
    });
    let cbc = median(budget, || {
        cipher.cbc_pattern(&[3; 16], Pattern { crypt: 1, skip: 9 }, black_box(&mut buf));
    });
    let source = buf.clone();
    let memcpy = median(Duration::from_secs(1), || {
        buf.copy_from_slice(black_box(&source));
        black_box(&buf);
    });
    println!(
        "segment: {} bytes TS in, {clear} bytes CMAF out ({} tracks), {}",
        ts.len(),
        remuxed.tracks.len(),
        common::platform()
    );
    let table = Table {
        bytes: ts.len(),
        width: 22,
    };
    table.row("memcpy of the output", memcpy);
    table.row("AES-CTR key stream", ctr);
    table.row("AES-CBC 1:9, 1 chain", cbc);
    table.row("remux (clear)", remux);
    for (scheme, alone, both) in &rows {
        let name = format!("{scheme:?}").to_lowercase();
        table.row(&format!("{name} encrypt only"), *alone);
        table.row(&format!("remux + {name}"), *both);
    }
    for (scheme, alone, both) in &rows {
        println!(
            "{:?}: remux + encryption takes {:.2}x the clear remux (+{:.0} %); encryption alone {:.2}x",
            scheme,
            ratio(*both, remux),
            (ratio(*both, remux) - 1.0) * 100.0,
            ratio(*alone, remux)
        );
    }
}
