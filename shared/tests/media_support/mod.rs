//! Helpers shared by the media integration tests: fixtures, an independent box check with
//! mp4-atom (strict), and a box tree printer for golden-file diffs.
#![allow(dead_code)]

use std::fmt::Write;

pub const SEG0: &[u8] = include_bytes!("../fixtures/media/h264_aac_0.ts");
pub const SEG1: &[u8] = include_bytes!("../fixtures/media/h264_aac_1.ts");
pub const WRAP: &[u8] = include_bytes!("../fixtures/media/h264_aac_wrap.ts");
pub const HEVC: &[u8] = include_bytes!("../fixtures/media/h265_aac.ts");
pub const MONO44_0: &[u8] = include_bytes!("../fixtures/media/h264_aac44_mono_0.ts");
pub const MONO44_1: &[u8] = include_bytes!("../fixtures/media/h264_aac44_mono_1.ts");

/// Container boxes whose bodies are boxes (ISO/IEC 14496-12), with the bytes to skip first.
fn children_offset(box_type: &[u8]) -> Option<usize> {
    match box_type {
        b"moov" | b"trak" | b"mdia" | b"minf" | b"dinf" | b"stbl" | b"mvex" | b"moof" | b"traf" => {
            Some(0)
        }
        b"stsd" | b"dref" => Some(8),
        b"avc1" | b"hvc1" => Some(78),
        b"mp4a" => Some(28),
        _ => None,
    }
}

/// A readable tree of the boxes in `data`: type, size, and a short hex prefix of leaf bodies.
pub fn box_tree(data: &[u8]) -> String {
    let mut out = String::new();
    tree(data, 0, &mut out);
    out
}

fn tree(data: &[u8], depth: usize, out: &mut String) {
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        let box_type = &data[pos + 4..pos + 8];
        let end = if size < 8 || pos + size > data.len() {
            data.len()
        } else {
            pos + size
        };
        let body = &data[pos + 8..end];
        let _ = write!(
            out,
            "{:indent$}{} {}",
            "",
            String::from_utf8_lossy(box_type),
            size,
            indent = depth * 2
        );
        match children_offset(box_type) {
            Some(skip) if body.len() >= skip => {
                out.push('\n');
                tree(&body[skip..], depth + 1, out);
            }
            _ => {
                let shown: Vec<String> = body.iter().take(32).map(|b| format!("{b:02x}")).collect();
                let _ = writeln!(
                    out,
                    " [{}{}]",
                    shown.join(""),
                    if body.len() > 32 { "…" } else { "" }
                );
            }
        }
        pos = end;
    }
}

/// Decodes an init segment with mp4-atom (strict: unknown or misplaced boxes are errors) and
/// checks there are no trailing bytes; returns the movie box.
pub fn check_init(init: &[u8]) -> mp4_atom::Moov {
    use mp4_atom::Decode;
    let mut cursor = std::io::Cursor::new(init);
    let ftyp = mp4_atom::Ftyp::decode(&mut cursor)
        .unwrap_or_else(|e| panic!("ftyp: {e}\n{}", box_tree(init)));
    assert_eq!(ftyp.major_brand, b"iso6".into());
    assert!(ftyp.compatible_brands.contains(&b"cmfc".into()));
    let moov = mp4_atom::Moov::decode(&mut cursor)
        .unwrap_or_else(|e| panic!("moov: {e}\n{}", box_tree(init)));
    assert_eq!(cursor.position() as usize, init.len(), "trailing bytes");
    moov
}

/// Decodes a media segment with mp4-atom (strict); checks sizes and the data offset;
/// returns (moof, mdat payload).
pub fn check_segment(segment: &[u8]) -> (mp4_atom::Moof, Vec<u8>) {
    use mp4_atom::Decode;
    let tree = || box_tree(&segment[..segment.len().min(4096)]);
    let mut cursor = std::io::Cursor::new(segment);
    let styp =
        mp4_atom::Styp::decode(&mut cursor).unwrap_or_else(|e| panic!("styp: {e}\n{}", tree()));
    assert_eq!(styp.major_brand, b"cmfs".into());
    let moof_start = cursor.position() as usize;
    let moof =
        mp4_atom::Moof::decode(&mut cursor).unwrap_or_else(|e| panic!("moof: {e}\n{}", tree()));
    let mdat_start = cursor.position() as usize;
    let mdat =
        mp4_atom::Mdat::decode(&mut cursor).unwrap_or_else(|e| panic!("mdat: {e}\n{}", tree()));
    assert_eq!(cursor.position() as usize, segment.len(), "trailing bytes");
    assert_eq!(moof.traf.len(), 1, "one track per CMAF file");
    let traf = &moof.traf[0];
    assert_eq!(traf.trun.len(), 1);
    let trun = &traf.trun[0];
    let sizes: u64 = trun.entries.iter().map(|e| e.size.unwrap() as u64).sum();
    assert_eq!(sizes, mdat.data.len() as u64, "sample sizes add up to mdat");
    assert_eq!(
        moof_start + trun.data_offset.unwrap() as usize,
        mdat_start + 8,
        "data_offset points at the first mdat byte"
    );
    (moof, mdat.data)
}

/// The first stream of `codec_type` in ffprobe's `-show_streams -of json` output.
pub fn stream<'a>(probe: &'a serde_json::Value, codec_type: &str) -> &'a serde_json::Value {
    probe["streams"]
        .as_array()
        .expect("ffprobe streams")
        .iter()
        .find(|s| s["codec_type"] == codec_type)
        .unwrap_or_else(|| panic!("no {codec_type} stream: {probe}"))
}

/// A number ffprobe's JSON gives as a string or a number.
pub fn number(v: &serde_json::Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_f64())
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Compares `ours` with the golden file `dir/name` (below the crate), printing both box trees
/// on a mismatch; `EDGEPACK_BLESS=1` rewrites the file instead (review the diff).
pub fn golden_boxes(dir: &str, name: &str, ours: &[u8]) {
    let path: std::path::PathBuf = [env!("CARGO_MANIFEST_DIR"), dir, name].iter().collect();
    if std::env::var_os("EDGEPACK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, ours).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if expected != ours {
        let head = |d: &[u8]| box_tree(&d[..d.len().min(8192)]);
        panic!(
            "{name} differs from the golden file ({} vs {} bytes)\n--- golden\n{}\n--- ours\n{}",
            expected.len(),
            ours.len(),
            head(&expected),
            head(ours)
        );
    }
}
