//! Media formats, sans-IO: MPEG-TS demux and mux, fragmented MP4 demux, CMAF (fragmented MP4)
//! and progressive MP4 mux, FLV mux. Demuxers turn segments into tracks of samples ([`sample`]); muxers
//! write samples.
//!
//! # API for the endpoints
//!
//! ```text
//! remux::ts_to_cmaf(ts: &[u8], &RemuxOptions) -> Result<RemuxedSegment, RemuxError>
//! remux::ts_parts_to_cmaf(parts: &[&[u8]], &RemuxOptions) -> Result<RemuxedSegment, RemuxError>
//! remux::init_segment(&Track) -> Result<Vec<u8>, MuxError>      (also RemuxedTrack::init_segment)
//! ts::first_pts(ts: &[u8]) -> Option<Timestamp33>               (ingest probe: first video PTS)
//! ts::probe_streams(ts: &[u8]) -> Vec<PmtStream>
//! remux::clip::ClipWriter::new(bytes).push(&ClipPart) ... .finish() -> progressive MP4
//! mp4::demux::parse_init(&[u8]) -> Result<InitSegment, Fmp4Error>     (several tracks per file)
//! mp4::demux::parse_segment(&[u8], &InitSegment) -> Result<MediaSegment, Fmp4Error>
//!   MediaSegment::samples_of(&init, track_id) -> Option<sample::TrackSamples>
//! ts::mux::write_segment(&mut out, &[TsMuxTrack], &TsMuxOptions, &mut ContinuityCounters)
//! flv::FlvMuxer::new(FlvOptions).write_segment(&mut out, &[FlvTrack], &FlvSegmentOptions)
//! remux::ts_parts_to_flv(&mut FlvMuxer, &mut out, parts, &RemuxOptions, &FlvSegmentOptions)
//! remux::fmp4_parts_to_flv(&mut FlvMuxer, &mut out, &[Fmp4Part], &FlvSegmentOptions)
//! cenc::Encryptor::new(&Track, &TrackProtection) -> Result<Encryptor, CencError>
//!   .init_segment() / .encrypt_segment(clear_segment)  (Common Encryption, cenc or cbcs)
//! ```
//!
//! * [`remux::RemuxOptions`]: `time_reference` (an unwrapped 90 kHz time near the segment, e.g.
//!   the timeline's `media_start`, to pick the 2^33 epoch), `next_segment_start` (unwrapped
//!   90 kHz first PTS of the next segment: exact last video duration), `sequence_number`
//!   (`mfhd`).
//! * [`remux::RemuxedSegment`]: `tracks` (video first, then audio) and `warnings` (damage that
//!   was skipped; a stream that cannot be remuxed is dropped with
//!   `RemuxWarning::TrackDropped` while the others are kept; only when none is left is the call
//!   an error). Each [`remux::RemuxedTrack`] has the [`mp4::Track`] (codec string,
//!   dimensions, sample rate, channels, timescale), the media segment bytes
//!   (`styp`+`moof`+`mdat`), `base_media_decode_time`, `presentation_start` (earliest PTS),
//!   `duration` (track timescale), `sample_count`, `starts_with_sync_sample`, `bitrate()`.
//! * Timescales: video 90 000 (TS clock), audio its sample rate. `tfdt` is the unwrapped DTS,
//!   so consecutive segments continue each other with no state kept between requests.
//! * Output is a pure function of the input bytes and options: byte-identical everywhere.
//! * Several consecutive input segments joined into one output segment: `ts_parts_to_cmaf`.
//! * A window of segments as one progressive MP4 (video + audio track, `moov` before `mdat`):
//!   [`remux::clip::ClipWriter`] over [`mp4::ProgressiveMp4`]; samples before muxing come
//!   from [`remux::demux_ts`] + [`remux::DemuxedTs::samples`].
//! * Codecs: H.264 (`avc1`), H.265 (`hvc1`), AAC in ADTS (`mp4a`); other streams are skipped
//!   with a warning.
//! * FLV ([`flv`], `docs/flv.md`): one stateful [`flv::FlvMuxer`] per stream writes the header,
//!   `onMetaData` and the AVC/AAC sequence headers once, then each segment's tags on one
//!   timeline that never goes back (new sequence headers when the codec configuration
//!   changes); `start_at_keyframe` starts at the segment's last keyframe (GOP cache). H.264 and
//!   AAC only: H.265 is [`flv::FlvError::UnsupportedCodec`].
//!
//! # Layers
//!
//! * [`ts`]: transport stream packets, PAT/PMT, PES reassembly ([`ts::Demuxer`], push/poll),
//!   the muxer ([`ts::mux`]) and audio separation ([`ts::filter`]).
//! * [`codec`]: H.264 / H.265 (Annex B, SPS, `avcC` / `hvcC`) and AAC (ADTS,
//!   AudioSpecificConfig).
//! * [`mp4`]: box writer, the CMAF init and media segment boxes, progressive files, and the
//!   fragmented MP4 demuxer ([`mp4::demux`]).
//! * [`cenc`]: Common Encryption (ISO/IEC 23001-7, `cenc` and `cbcs`) of the CMAF segments
//!   [`mp4`] writes; `docs/encryption.md`.
//! * [`sample`]: a track's samples (decode time, duration, composition offset, sync flag) as
//!   ranges of the input bytes, whichever demuxer read them.
//! * [`remux`]: glue from PES packets to CMAF samples (one access unit per PES packet; a PES
//!   packet without PTS continues the previous access unit).
//! * [`flv`]: the FLV muxer (tags, AMF0 `onMetaData`, the stream writer).
//! * [`time`]: the 33-bit timestamp and integer rescaling.

pub mod cenc;
pub mod codec;
pub mod flv;
pub mod mp4;
pub mod reader;
pub mod remux;
pub mod sample;
pub mod time;
pub mod ts;
