//! Playback file names below an endpoint.
//!
//! | protocol | file | route |
//! |---|---|---|
//! | all | `{manifest_name}.m3u8` / `.mpd` | master playlist / MPD |
//! | HLS | `{rendition}/media.m3u8`, `{rendition}/{n}.ts` | TS playlist, segment |
//! | HLS, audio separated | `{rendition}/{video,audio}.m3u8`, `{rendition}/{kind}_{n}.ts` | playlist, segment |
//! | HLS-CMAF | `{rendition}/{video,audio}.m3u8`, `{rendition}/{kind}_{n}.m4s` | playlist, segment |
//! | HLS-CMAF, DASH | `{rendition}/{kind}_init_{version}.mp4` | init segment |
//! | HLS-CMAF with rotating keys | `{rendition}/{kind}_init_{version}_k{period}.mp4` | init segment of a key period |
//! | DASH | `{rendition}/{kind}_t{time}.m4s` | segment by media time (`$Time$`) |
//! | all | `clip.mp4?start=&end=`, `clip.flv?start=&end=` | a window as one progressive MP4 or one FLV file ([`super::clip`]) |
//! | FLV | `{manifest_name}.flv[?rendition=]` | the live stream ([`super::flv_live`]) |
//! | HLS with `AES_128` encryption | `key/{period}.key` | the key of a key period ([`super::aes128`]) |
//! | HLS-CMAF, DASH with `CLEAR_KEY` | `key/{period}-{video,audio}.key` | a track type's key of a key period ([`super::sample_enc`]) |
//!
//! Segments and init segments are also served one directory deeper, below `~{storage id}`
//! (`{rendition}/~{id}/{n}.ts`, `{rendition}/~{id}/{kind}_t{time}.m4s`, ...): the form the
//! origin's playlists and MPDs write. The channel's storage id in the URL lets a request read
//! the rendition's index in the same round trip as the settings (docs/round-trips.md,
//! "Segment URLs that name the storage id"). `~` cannot occur in a rendition id, so the two
//! forms never overlap. A time-shifted playlist adds the archive bucket of each segment
//! (`{rendition}/~{id}@{bucket}/{n}.ts`), read in that same round trip; a time-shifted MPD
//! names its run's clock and timescale instead (`{rendition}/~{id}@{clock}_{timescale}/`), from
//! which the bucket follows with `$Time$`.

use crate::error::{OriginError, OriginResult};
use crate::media::mp4::TrackKind;
use crate::model::{Endpoint, OutputProtocol};
use crate::names::Rendition;
use std::num::NonZeroU32;

/// File name of TS rendition playlists.
pub const MEDIA_PLAYLIST: &str = "media.m3u8";

/// First byte of the directory that names the channel's storage id in a segment URL.
const STORAGE_DIR_MARK: char = '~';

/// Longest storage id accepted from a URL (ids are 16 characters, `api::channels`).
const MAX_URL_STORAGE_ID: usize = 32;

/// Whether `id` may be a storage id: 1 to [`MAX_URL_STORAGE_ID`] ASCII letters and digits,
/// as `auth::random_token` makes them. Nothing else from a URL goes into a storage key.
fn is_storage_id(id: &str) -> bool {
    (1..=MAX_URL_STORAGE_ID).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The directory, relative to a rendition, that segment and init segment URLs of a channel
/// with storage id `id` are written below (`~{id}/`); empty when the id cannot go into a URL.
pub(super) fn storage_dir(id: &str) -> String {
    if is_storage_id(id) {
        format!("{STORAGE_DIR_MARK}{id}/")
    } else {
        String::new()
    }
}

/// [`storage_dir`] of a time-shifted playlist's segment, naming the archive bucket its
/// program date time falls in (`~{id}@{bucket}/`): the segment's request reads that bucket
/// and its neighbours beside the settings (docs/round-trips.md, "Time-shifted segment URLs").
pub(super) fn storage_dir_at(id: &str, pdt_ms: i64) -> String {
    if is_storage_id(id) {
        let bucket = crate::archive::bucket_of(pdt_ms);
        format!("{STORAGE_DIR_MARK}{id}{BUCKET_MARK}{bucket}/")
    } else {
        String::new()
    }
}

/// Separates the storage id from an archive bucket in a segment's directory.
const BUCKET_MARK: char = '@';

/// Separates a run's clock from its timescale in a time-shifted DASH segment's directory.
const CLOCK_MARK: char = '_';

/// Most digits of a timescale accepted from a URL (a `u32`).
const MAX_URL_TIMESCALE_DIGITS: usize = 10;

/// Most digits of a DASH segment's `$Time$` accepted from a URL (a `u64`).
const MAX_URL_TIME_DIGITS: usize = 20;

/// [`storage_dir`] of a time-shifted MPD's `SegmentTemplate@media` (`~{id}@{clock}_{timescale}/`):
/// `clock` is the Unix ms at which media time 0 of the Period's run would play (the run's
/// anchor: its wall-clock start less its first media time), `timescale` the
/// representation's. Both are fixed once the Period is published, so the template never
/// changes, and a request computes its segment's program date time from `$Time$`, hence its
/// archive bucket (docs/round-trips.md, "Time-shifted DASH segment URLs"). Without a clock
/// (a run before 1970), [`storage_dir`].
pub(super) fn storage_dir_clock(id: &str, clock_ms: Option<i64>, timescale: u32) -> String {
    match clock_ms {
        Some(clock) if is_storage_id(id) && clock >= 0 && timescale > 0 => {
            format!("{STORAGE_DIR_MARK}{id}{BUCKET_MARK}{clock}{CLOCK_MARK}{timescale}/")
        }
        _ => storage_dir(id),
    }
}

/// `text` when it is 1 to `max` ASCII digits.
fn digits(text: &str, max: usize) -> Option<&str> {
    ((1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// The archive bucket of a DASH segment below a run's clock (`{clock}_{timescale}`, see
/// [`storage_dir_clock`]): the bucket of `clock + $Time$ / timescale`, with `$Time$` from
/// `file` (`{kind}_t{time}.m4s`). `None` unless every part is well formed and the time fits.
fn clock_bucket(clock: &str, file: &str) -> Option<i64> {
    let (clock, timescale) = clock.split_once(CLOCK_MARK)?;
    let clock: i64 = digits(clock, MAX_URL_BUCKET_DIGITS)?.parse().ok()?;
    let timescale: u32 = digits(timescale, MAX_URL_TIMESCALE_DIGITS)?.parse().ok()?;
    let (kind, time) = file.strip_suffix(".m4s")?.split_once("_t")?;
    TrackKind::parse(kind)?;
    let time: u64 = digits(time, MAX_URL_TIME_DIGITS)?.parse().ok()?;
    let offset = u128::from(time) * 1000 / u128::from(NonZeroU32::new(timescale)?.get());
    let pdt = i64::try_from(offset).ok()?.checked_add(clock)?;
    Some(crate::archive::bucket_of(pdt))
}

/// Most digits of a bucket accepted from a URL: milliseconds since 1970, 13 digits until
/// the year 2286.
const MAX_URL_BUCKET_DIGITS: usize = 13;

/// A bucket from a URL: 1 to [`MAX_URL_BUCKET_DIGITS`] ASCII digits naming the start of an
/// archive bucket (a multiple of its length); anything else is no bucket.
fn url_bucket(text: &str) -> Option<i64> {
    if !(1..=MAX_URL_BUCKET_DIGITS).contains(&text.len())
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let bucket: i64 = text.parse().ok()?;
    (bucket % crate::archive::BUCKET_MS == 0).then_some(bucket)
}

/// A segment path's storage-id directory (`~{id}/` or `~{id}@{bucket}/`), taken out.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct StorageDir<'p> {
    pub id: &'p str,
    /// The archive bucket a time-shifted playlist named.
    pub bucket: Option<i64>,
    /// The rendition before the directory.
    pub rendition: Rendition,
    /// The path as [`Route::parse`] reads it.
    pub path: Vec<&'p str>,
}

/// A playback path below an endpoint with its storage-id directory taken out. `None` when
/// the path has no such directory right before its file name, or the id or bucket is not a
/// valid one (the path is then parsed as it is, and a `~` makes it a 404).
pub(super) fn split_storage_dir<'p>(rest: &[&'p str]) -> Option<StorageDir<'p>> {
    let [dirs @ .., dir, file] = rest else {
        return None;
    };
    let named = dir.strip_prefix(STORAGE_DIR_MARK)?;
    let (id, bucket) = match named.split_once(BUCKET_MARK) {
        Some((id, clock)) if clock.contains(CLOCK_MARK) => (id, Some(clock_bucket(clock, file)?)),
        Some((id, bucket)) => (id, Some(url_bucket(bucket)?)),
        None => (named, None),
    };
    if !is_storage_id(id) {
        return None;
    }
    let rendition = Rendition::parse(&dirs.join("/"))?;
    let mut path = dirs.to_vec();
    path.push(file);
    Some(StorageDir {
        id,
        bucket,
        rendition,
        path,
    })
}

/// The container of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipFormat {
    Mp4,
    Flv,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Manifest,
    /// A window as one file: progressive MP4 (`clip.mp4`) or FLV (`clip.flv`).
    Clip(ClipFormat),
    TsPlaylist {
        rendition: Rendition,
    },
    TsSegment {
        rendition: Rendition,
        seq: u64,
    },
    /// A TS segment with one kind of stream (HLS with audio separation).
    TsTrackSegment {
        rendition: Rendition,
        kind: TrackKind,
        seq: u64,
    },
    /// A track's playlist: CMAF for HLS-CMAF, TS with one kind of stream for separated HLS.
    CmafPlaylist {
        rendition: Rendition,
        kind: TrackKind,
    },
    /// `{kind}_init_{version}.mp4`; `period`: the key period of an HLS-CMAF endpoint whose
    /// sample encryption keys rotate (`{kind}_init_{version}_k{period}.mp4`).
    Init {
        rendition: Rendition,
        kind: TrackKind,
        version: String,
        period: Option<u64>,
    },
    CmafSegment {
        rendition: Rendition,
        kind: TrackKind,
        seq: u64,
    },
    DashSegment {
        rendition: Rendition,
        kind: TrackKind,
        time: u64,
    },
    /// The 16-byte key of a key period (encrypted endpoints whose method needs one); `kind`:
    /// the track type's key of a sample-encrypted endpoint with ClearKey (`{period}-{kind}.key`).
    Key {
        period: u64,
        kind: Option<TrackKind>,
    },
}

impl Route {
    /// A segment or init segment: the files served below a storage-id directory too.
    pub fn is_segment_file(&self) -> bool {
        matches!(
            self,
            Route::TsSegment { .. }
                | Route::TsTrackSegment { .. }
                | Route::Init { .. }
                | Route::CmafSegment { .. }
                | Route::DashSegment { .. }
        )
    }

    /// A master or rendition playlist (the files a time-shift window shapes).
    pub fn is_manifest(&self) -> bool {
        matches!(
            self,
            Route::Manifest | Route::TsPlaylist { .. } | Route::CmafPlaylist { .. }
        )
    }

    pub fn parse(endpoint: &Endpoint, rest: &[&str]) -> OriginResult<Route> {
        let not_found = || OriginError::NotFound(format!("playback file {}", rest.join("/")));
        let (file, dirs) = rest.split_last().ok_or_else(not_found)?;
        if dirs.is_empty() {
            return if *file == endpoint.manifest_file() {
                Ok(Route::Manifest)
            } else if *file == super::clip_mp4::CLIP_FILE {
                Ok(Route::Clip(ClipFormat::Mp4))
            } else if *file == super::clip_mp4::CLIP_FLV_FILE {
                Ok(Route::Clip(ClipFormat::Flv))
            } else {
                Err(not_found())
            };
        }
        if let (Some(_), [super::aes128::KEY_DIR]) = (&endpoint.encryption, dirs) {
            let stem = file.strip_suffix(".key").ok_or_else(not_found)?;
            let (period, kind) = match stem.split_once('-') {
                Some((p, k)) => (p, Some(TrackKind::parse(k).ok_or_else(not_found)?)),
                None => (stem, None),
            };
            let period = period.parse().map_err(|_| not_found())?;
            return Ok(Route::Key { period, kind });
        }
        let rendition = Rendition::parse(&dirs.join("/")).ok_or_else(not_found)?;
        let protocol = endpoint.protocol;
        let kind_prefixed = |suffix: &str| -> Option<(TrackKind, String)> {
            let stem = file.strip_suffix(suffix)?;
            let (kind, rest) = stem.split_once('_').unwrap_or((stem, ""));
            Some((TrackKind::parse(kind)?, rest.to_owned()))
        };
        let route = match protocol {
            OutputProtocol::Hls => {
                if *file == MEDIA_PLAYLIST {
                    Some(Route::TsPlaylist { rendition })
                } else if let Some(kind) = file.strip_suffix(".m3u8").and_then(TrackKind::parse) {
                    Some(Route::CmafPlaylist { rendition, kind })
                } else if let Some((kind, n)) = kind_prefixed(".ts") {
                    n.parse().ok().map(|seq| Route::TsTrackSegment {
                        rendition,
                        kind,
                        seq,
                    })
                } else {
                    file.strip_suffix(".ts")
                        .and_then(|n| n.parse().ok())
                        .map(|seq| Route::TsSegment { rendition, seq })
                }
            }
            OutputProtocol::HlsCmaf | OutputProtocol::Dash => {
                if let Some((kind, v)) = kind_prefixed(".mp4") {
                    v.strip_prefix("init_").and_then(|v| {
                        let (version, period) = match v.split_once("_k") {
                            Some((v, p)) => (v, Some(p.parse().ok()?)),
                            None => (v, None),
                        };
                        Some(Route::Init {
                            rendition,
                            kind,
                            version: version.to_owned(),
                            period,
                        })
                    })
                } else if let Some((kind, n)) = kind_prefixed(".m4s") {
                    match n.strip_prefix('t') {
                        Some(t) if protocol == OutputProtocol::Dash => {
                            t.parse().ok().map(|time| Route::DashSegment {
                                rendition,
                                kind,
                                time,
                            })
                        }
                        _ if protocol == OutputProtocol::HlsCmaf => {
                            n.parse().ok().map(|seq| Route::CmafSegment {
                                rendition,
                                kind,
                                seq,
                            })
                        }
                        _ => None,
                    }
                } else if protocol == OutputProtocol::HlsCmaf {
                    file.strip_suffix(".m3u8")
                        .and_then(TrackKind::parse)
                        .map(|kind| Route::CmafPlaylist { rendition, kind })
                } else {
                    None
                }
            }
            // One live stream per endpoint, no files below it.
            OutputProtocol::Flv => None,
        };
        route.ok_or_else(not_found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(path: &str) -> Option<(String, Option<i64>, String)> {
        let parts: Vec<&str> = path.split('/').collect();
        split_storage_dir(&parts).map(|d| (d.id.to_owned(), d.bucket, d.path.join("/")))
    }

    #[test]
    fn storage_dirs_name_an_id_and_a_bucket() {
        assert_eq!(
            split("v/index/~Ab12/7.ts"),
            Some(("Ab12".into(), None, "v/index/7.ts".into()))
        );
        assert_eq!(
            split("v/~Ab12@1795435200000/7.ts"),
            Some(("Ab12".into(), Some(1_795_435_200_000), "v/7.ts".into()))
        );
        assert_eq!(
            storage_dir_at("Ab12", 1_795_435_200_001 + 5000),
            "~Ab12@1795435200000/"
        );
        // A run's clock and timescale: the bucket of clock + $Time$ / timescale.
        assert_eq!(
            storage_dir_clock("Ab12", Some(1_795_435_196_589), 90_000),
            "~Ab12@1795435196589_90000/"
        );
        assert_eq!(storage_dir_clock("Ab12", None, 90_000), "~Ab12/");
        assert_eq!(storage_dir_clock("Ab12", Some(-1), 90_000), "~Ab12/");
        assert_eq!(
            split("v/~Ab12@1795435196589_90000/video_t127920.m4s"),
            Some((
                "Ab12".into(),
                Some(1_795_434_600_000),
                "v/video_t127920.m4s".into()
            ))
        );
        // 3,421 ms after the clock: the next bucket.
        assert_eq!(
            split("v/~Ab12@1795435196589_48000/audio_t164208.m4s").and_then(|s| s.1),
            Some(1_795_435_200_000)
        );
    }

    #[test]
    fn hostile_storage_dirs_name_nothing() {
        for path in [
            "v/~/7.ts",
            "v/~Ab-12/7.ts",
            "v/~Ab12@/7.ts",
            "v/~Ab12@-600000/7.ts",
            "v/~Ab12@+600000/7.ts",
            "v/~Ab12@1795435200001/7.ts",
            "v/~Ab12@17954352000000000/7.ts",
            "v/~Ab12@99999999999999999999/7.ts",
            "v/~Ab12@1795435200000@0/7.ts",
            "v/~Ab12@0x600000/7.ts",
            "v/~Ab12@ 600000/7.ts",
            "~Ab12@600000/7.ts",
            "v/~Ab12@1_90000/7.ts",
            "v/~Ab12@1_90000/video_7.m4s",
            "v/~Ab12@1_90000/text_t7.m4s",
            "v/~Ab12@1_0/video_t7.m4s",
            "v/~Ab12@1_/video_t7.m4s",
            "v/~Ab12@_90000/video_t7.m4s",
            "v/~Ab12@1_90000_1/video_t7.m4s",
            "v/~Ab12@1_99999999999/video_t7.m4s",
            "v/~Ab12@12345678901234_90000/video_t7.m4s",
            "v/~Ab12@1_90000/video_t+7.m4s",
            "v/~Ab12@1_90000/video_t123456789012345678901.m4s",
            "v/~Ab12@9999999999999_1/video_t18446744073709551615.m4s",
        ] {
            assert_eq!(split(path), None, "{path}");
        }
        let id = "a".repeat(MAX_URL_STORAGE_ID + 1);
        assert_eq!(split(&format!("v/~{id}@600000/7.ts")), None);
    }

    #[test]
    fn only_buckets_of_the_range_are_near() {
        use crate::archive::{buckets_near, BUCKET_MS};
        let b = 100 * BUCKET_MS;
        // A window inside one bucket: the lookup reads it and both neighbours.
        let range = (b + 1000, b + 5000);
        assert_eq!(
            buckets_near(b, range),
            vec![b - BUCKET_MS, b, b + BUCKET_MS]
        );
        // At the window's first bucket: not the one before the lookup's first.
        assert_eq!(buckets_near(b - BUCKET_MS, range), vec![b - BUCKET_MS, b]);
        // A bucket the range never reads: nothing.
        assert!(buckets_near(b + 10 * BUCKET_MS, range).is_empty());
        assert!(buckets_near(b + 1, range).is_empty());
        assert!(buckets_near(i64::MAX - i64::MAX % BUCKET_MS, range).is_empty());
    }
}
