//! Single-file recordings (harvest `format` MP4 or FLV): the window's output segments written
//! as one object, in batches, within bounded memory. Docs: `docs/timeshift-harvest.md`.
//!
//! MP4 goes in two passes so that `moov` comes before `mdat` without holding the file:
//!
//! 1. **Index.** Each batch remuxes its parts without keeping their bytes and appends their
//!    sample tables (sizes, durations, composition offsets, sync flags per chunk) to index
//!    objects of [`INDEX_PARTS_PER_OBJECT`] parts each.
//! 2. **Header.** One batch replays the index into the MP4 writer (first part remuxed for its
//!    codec configuration; later configurations from the index, each a sample description of
//!    its own), writes `ftyp` + `moov` + the `mdat` header with final offsets as
//!    the first bytes of the file, and starts the multipart upload.
//! 3. **Write.** Each batch remuxes its parts again (the output is deterministic, so the bytes
//!    are those the index described) and streams them.
//!
//! FLV has one pass: the muxer's state travels in the job between batches. Bytes go out in
//! parts of exactly [`PART_BYTES`] (R2 needs equal parts of at least 5 MiB but the last); what
//! is left at the end of a batch waits in a tail object for the next one. The last batch
//! uploads the rest, completes the upload and checks the length (MP4: the header's plan).

use super::job::{Format, Job, Plan, Recording, Status};
use super::{Budget, CONTENT_TYPE};
use crate::context::Ctx;
use crate::error::{MediaCause, MediaError, OriginError, OriginResult};
use crate::keys;
use crate::media::codec::aac::AacConfig;
use crate::media::codec::h264::AvcConfig;
use crate::media::codec::hevc::HevcConfig;
use crate::media::flv::{FlvMuxer, FlvOptions};
use crate::media::mp4::{CodecConfig, SampleInfo, Track};
use crate::media::remux::clip::{ClipChunk, ClipWriter};
use crate::names::Rendition;
use crate::playback::recording::{write_part, FileWriter};
use crate::repo;
use crate::store::{KvStore, Metadata, ObjectStore, MAX_PARTS};
use serde::{Deserialize, Serialize};

/// Size of every uploaded part but the last: R2 wants them equal and at least 5 MiB; 8 MiB
/// allows files up to 78 GiB in 10,000 parts while a batch holds at most a part plus one
/// segment's output.
pub const PART_BYTES: usize = 8 << 20;
/// Parts (output segments) per index object: 10 minutes of 2 s segments, about 1 MB of JSON
/// at 30 fps video and 48 kHz audio.
pub const INDEX_PARTS_PER_OBJECT: u64 = 300;
/// Most output segments one batch remuxes (about 3 store reads each; the op budget is the
/// usual limit).
pub const MAX_PARTS_PER_BATCH: u64 = 100;
/// Store operations kept back for the end of a batch (tail, upload, completion, commit).
const RESERVE_OPS: usize = 8;

/// One sample as the index keeps it: size, duration, composition offset, sync.
type IndexSample = (u32, u32, i32, bool);
/// One part's chunks in the index: (part number, [(track 0 video | 1 audio, samples)]).
type IndexEntry = (u64, Vec<(u8, Vec<IndexSample>)>);

/// A codec configuration as the index keeps it: its decoder configuration record (`avcC`,
/// `hvcC` body; AudioSpecificConfig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum IndexCodec {
    Avc(Vec<u8>),
    Hevc(Vec<u8>),
    Aac(Vec<u8>),
}

/// From part `.0` on, track `.1` (0 video, 1 audio) has configuration `.2`.
type IndexChange = (u64, u8, IndexCodec);

#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexObject {
    entries: Vec<IndexEntry>,
    /// Each track's configuration at the object's first part that has the track, and at
    /// every part where it changes (an encoder restart at another resolution): the header
    /// batch gives each its own sample description.
    #[serde(default)]
    changes: Vec<IndexChange>,
}

fn codec_error(e: crate::media::codec::CodecError) -> OriginError {
    corrupt(&format!("codec configuration: {e}"))
}

fn to_index_codec(codec: &CodecConfig) -> OriginResult<IndexCodec> {
    Ok(match codec {
        CodecConfig::Avc(c) => {
            IndexCodec::Avc(c.decoder_configuration_record().map_err(codec_error)?)
        }
        CodecConfig::Hevc(c) => {
            IndexCodec::Hevc(c.decoder_configuration_record().map_err(codec_error)?)
        }
        CodecConfig::Aac(c) => IndexCodec::Aac(c.audio_specific_config().to_vec()),
    })
}

fn from_index_codec(codec: &IndexCodec) -> OriginResult<CodecConfig> {
    Ok(match codec {
        IndexCodec::Avc(r) => CodecConfig::Avc(
            AvcConfig::from_decoder_configuration_record(r)
                .map_err(codec_error)?
                .0,
        ),
        IndexCodec::Hevc(r) => CodecConfig::Hevc(
            HevcConfig::from_decoder_configuration_record(r)
                .map_err(codec_error)?
                .0,
        ),
        IndexCodec::Aac(r) => {
            CodecConfig::Aac(AacConfig::from_audio_specific_config(r).map_err(codec_error)?)
        }
    })
}

/// Each track's configuration as of the last change recorded in `changes`.
fn current_codecs(changes: &[IndexChange]) -> [Option<IndexCodec>; 2] {
    let mut current = [None, None];
    for (_, track, codec) in changes {
        if let Some(c) = current.get_mut(usize::from(*track)) {
            *c = Some(codec.clone());
        }
    }
    current
}

/// Records in `index` the configurations of part `part`'s chunks that differ from `current`.
fn note_changes(
    index: &mut IndexObject,
    current: &mut [Option<IndexCodec>; 2],
    part: u64,
    chunks: &[ClipChunk],
    tracks: &[Track],
) -> OriginResult<()> {
    for ((t, _), track) in chunks.iter().zip(tracks) {
        let codec = to_index_codec(&track.codec)?;
        let slot = current
            .get_mut(usize::from(*t))
            .ok_or_else(|| corrupt("track"))?;
        if slot.as_ref() != Some(&codec) {
            index.changes.push((part, *t, codec.clone()));
            *slot = Some(codec);
        }
    }
    Ok(())
}

fn to_index(part: u64, chunks: &[ClipChunk]) -> IndexEntry {
    let chunks = chunks
        .iter()
        .map(|(t, samples)| {
            let s = samples
                .iter()
                .map(|s| (s.size, s.duration, s.composition_offset, s.is_sync))
                .collect();
            (*t, s)
        })
        .collect();
    (part, chunks)
}

fn from_index(chunk: &(u8, Vec<IndexSample>)) -> ClipChunk {
    let samples = chunk
        .1
        .iter()
        .map(
            |&(size, duration, composition_offset, is_sync)| SampleInfo {
                duration,
                size,
                is_sync,
                composition_offset,
            },
        )
        .collect();
    (chunk.0, samples)
}

/// The recording's object key.
fn file_key(job: &Job) -> String {
    keys::vod(&format!("{}{}", job.asset_dir(), job.manifest))
}

/// The recording object's metadata: its content type.
fn file_metadata(job: &Job) -> Metadata {
    let mut metadata = Metadata::new();
    metadata.insert(CONTENT_TYPE.into(), job.format.content_type().into());
    metadata
}

fn corrupt(what: &str) -> OriginError {
    OriginError::Conflict(format!("recording state: {what}"))
}

fn mux_error(e: crate::media::mp4::MuxError) -> OriginError {
    MediaError::new(MediaCause::Mux(e)).into()
}

/// Objects to delete once the batch's state is committed.
pub(super) type Obsolete = Vec<String>;

/// One batch of a recording job: the next step of its pass. Updates `job`; the caller
/// commits it, then calls [`after_commit`].
pub(super) async fn batch<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &mut Job,
    plan: &Plan,
    budget: &Budget,
) -> OriginResult<Obsolete> {
    let mut rec = job.recording.take().ok_or_else(|| corrupt("missing"))?;
    if rec.total != plan.parts.len() as u64 || rec.total == 0 {
        job.recording = Some(rec);
        return Err(corrupt("plan and state disagree"));
    }
    let rendition = plan
        .rendition
        .clone()
        .ok_or_else(|| corrupt("plan without rendition"));
    let obsolete = match rendition {
        Err(e) => Err(e),
        Ok(r) if job.format == Format::Mp4 && rec.indexed < rec.total => {
            index_batch(cx, job, &mut rec, plan, &r, budget)
                .await
                .map(|()| Vec::new())
        }
        Ok(r) if job.format == Format::Mp4 && rec.upload_id.is_none() => {
            header_batch(cx, job, &mut rec, plan, &r, budget)
                .await
                .map(|()| Vec::new())
        }
        Ok(r) => write_batch(cx, job, &mut rec, plan, &r, budget).await,
    };
    // Kept on failure too: a failed job's upload is aborted from it ([`discard`]).
    job.segments_done = rec.written;
    job.bytes_written = rec.bytes_written();
    job.recording = Some(rec);
    obsolete
}

/// Abandons what an unfinished recording has stored: aborts its multipart upload (R2 drops
/// the parts; the chunked form deletes its chunk objects). The index and tail objects go with
/// the job's other working objects. A completed file is left alone.
pub(super) async fn discard<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &Job,
    budget: &Budget,
) -> OriginResult<()> {
    let Some(rec) = &job.recording else {
        return Ok(());
    };
    let Some(upload_id) = &rec.upload_id else {
        return Ok(());
    };
    if job.status == Status::Succeeded {
        return Ok(());
    }
    budget.spend(1);
    Ok(cx
        .objects
        .abort_multipart(&file_key(job), upload_id)
        .await?)
}

/// Deletes what the committed batch made obsolete (the previous tail; at the end, the
/// index and tail objects).
pub(super) async fn after_commit<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    obsolete: &Obsolete,
    budget: &Budget,
) -> OriginResult<()> {
    for key in obsolete {
        budget.spend(1);
        cx.objects.delete(key).await?;
    }
    Ok(())
}

/// A strict MP4 writer placed after the recording's first part (its tracks, start and
/// audio delay), whose bytes are dropped.
async fn mp4_writer_after_first<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    plan: &Plan,
    rendition: &Rendition,
    budget: &Budget,
) -> OriginResult<FileWriter> {
    let mut writer = FileWriter::Mp4(ClipWriter::new(0));
    let first = plan.parts.first().ok_or_else(|| corrupt("no parts"))?;
    budget.spend(reads_of(first));
    write_part(
        cx,
        &mut writer,
        &mut Vec::new(),
        first,
        plan.parts.len() == 1,
        rendition,
    )
    .await?;
    if let FileWriter::Mp4(w) = &mut writer {
        w.drain_media();
    }
    Ok(writer)
}

/// Store reads one part costs (segments and init segments).
fn reads_of(part: &crate::playback::recording::FilePart) -> usize {
    let per = if part.video.init_key.is_some() { 2 } else { 1 };
    per * (1 + usize::from(part.audio.is_some()))
}

/// Whether the batch may take part `i` (of `done` so far this batch).
fn room(budget: &Budget, plan: &Plan, i: u64, done: u64) -> bool {
    let part = usize::try_from(i).ok().and_then(|i| plan.parts.get(i));
    part.is_some_and(|p| budget.left() >= reads_of(p) + RESERVE_OPS) && done < MAX_PARTS_PER_BATCH
}

async fn index_batch<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &Job,
    rec: &mut Recording,
    plan: &Plan,
    rendition: &Rendition,
    budget: &Budget,
) -> OriginResult<()> {
    let mut writer = if rec.indexed == 0 {
        FileWriter::Mp4(ClipWriter::new(0))
    } else {
        mp4_writer_after_first(cx, plan, rendition, budget).await?
    };
    let FileWriter::Mp4(_) = writer else {
        return Err(corrupt("writer"));
    };
    let object_no = rec.indexed / INDEX_PARTS_PER_OBJECT;
    let key = keys::harvest_index(&job.id, object_no);
    let mut index = if rec.indexed.is_multiple_of(INDEX_PARTS_PER_OBJECT) {
        IndexObject::default()
    } else {
        budget.spend(1);
        repo::object_get::<IndexObject>(cx.objects, &key)
            .await?
            .ok_or_else(|| corrupt("index object missing"))?
    };
    // A batch that wrote this object but lost its commit left entries beyond `indexed`.
    index.entries.retain(|(p, _)| *p < rec.indexed);
    index.changes.retain(|(p, _, _)| *p < rec.indexed);
    let mut current = current_codecs(&index.changes);
    let end = ((object_no + 1) * INDEX_PARTS_PER_OBJECT).min(rec.total);
    let mut i = rec.indexed;
    while i < end && room(budget, plan, i, i - rec.indexed) {
        let part = &plan.parts[usize::try_from(i).map_err(|_| corrupt("part"))?];
        budget.spend(reads_of(part));
        write_part(
            cx,
            &mut writer,
            &mut Vec::new(),
            part,
            i + 1 == rec.total,
            rendition,
        )
        .await?;
        if let FileWriter::Mp4(w) = &mut writer {
            w.drain_media();
            note_changes(
                &mut index,
                &mut current,
                i,
                w.last_chunks(),
                w.last_chunk_tracks(),
            )?;
            index.entries.push(to_index(i, w.last_chunks()));
        }
        i += 1;
    }
    let bytes = serde_json::to_vec(&index).map_err(|e| repo::corrupt(&key, &e))?;
    budget.spend(1);
    cx.objects.put(&key, &bytes, &Metadata::new()).await?;
    rec.indexed = i;
    Ok(())
}

async fn header_batch<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &Job,
    rec: &mut Recording,
    plan: &Plan,
    rendition: &Rendition,
    budget: &Budget,
) -> OriginResult<()> {
    let mut writer = mp4_writer_after_first(cx, plan, rendition, budget).await?;
    let FileWriter::Mp4(w) = &mut writer else {
        return Err(corrupt("writer"));
    };
    let mut next = 1;
    for n in 0..rec.total.div_ceil(INDEX_PARTS_PER_OBJECT) {
        let key = keys::harvest_index(&job.id, n);
        budget.spend(1);
        let index = repo::object_get::<IndexObject>(cx.objects, &key)
            .await?
            .ok_or_else(|| corrupt("index object missing"))?;
        for (part, chunks) in &index.entries {
            if *part == 0 {
                continue; // remuxed above
            }
            if *part != next {
                return Err(corrupt("index entries out of order"));
            }
            for (_, track, codec) in index.changes.iter().filter(|c| c.0 == *part) {
                w.declare_description(*track, &from_index_codec(codec)?)
                    .map_err(mux_error)?;
            }
            for chunk in chunks {
                w.declare(&from_index(chunk)).map_err(mux_error)?;
            }
            next += 1;
        }
    }
    if next != rec.total {
        return Err(corrupt("index incomplete"));
    }
    let header = w.header().map_err(mux_error)?;
    let length = header.len() as u64;
    // The file: this header, then the media data the index declared.
    let media: u64 = w.media_len();
    rec.bytes_total = Some(length + media);
    budget.spend(2);
    cx.objects
        .put(&keys::harvest_tail(&job.id, 0), &header, &Metadata::new())
        .await?;
    rec.tail = length;
    rec.upload_id = Some(
        cx.objects
            .create_multipart(&file_key(job), &file_metadata(job))
            .await?,
    );
    Ok(())
}

async fn write_batch<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &mut Job,
    rec: &mut Recording,
    plan: &Plan,
    rendition: &Rendition,
    budget: &Budget,
) -> OriginResult<Obsolete> {
    let key = file_key(job);
    let upload_id = match &rec.upload_id {
        Some(id) => id.clone(),
        None => {
            budget.spend(1);
            let id = cx
                .objects
                .create_multipart(&key, &file_metadata(job))
                .await?;
            rec.upload_id = Some(id.clone());
            id
        }
    };
    let old_tail = keys::harvest_tail(&job.id, rec.written);
    let mut buffer = if rec.tail > 0 {
        budget.spend(1);
        let tail = cx
            .objects
            .get(&old_tail)
            .await?
            .ok_or_else(|| corrupt("tail object missing"))?
            .body;
        if tail.len() as u64 != rec.tail {
            return Err(corrupt("tail length"));
        }
        tail
    } else {
        Vec::new()
    };
    let mut writer = match job.format {
        Format::Mp4 if rec.written == 0 => FileWriter::Mp4(ClipWriter::new(0)),
        Format::Mp4 => mp4_writer_after_first(cx, plan, rendition, budget).await?,
        _ => FileWriter::Flv(
            rec.flv
                .take()
                .unwrap_or_else(|| FlvMuxer::new(FlvOptions::default())),
        ),
    };
    let mut i = rec.written;
    let mut flv = Vec::new();
    while i < rec.total && room(budget, plan, i, i - rec.written) {
        let part = &plan.parts[usize::try_from(i).map_err(|_| corrupt("part"))?];
        budget.spend(reads_of(part));
        write_part(
            cx,
            &mut writer,
            &mut flv,
            part,
            i + 1 == rec.total,
            rendition,
        )
        .await?;
        buffer.extend_from_slice(&writer.drain(&mut flv));
        i += 1;
        while buffer.len() >= PART_BYTES {
            upload(cx, rec, &key, &upload_id, &buffer[..PART_BYTES], budget).await?;
            buffer.drain(..PART_BYTES);
        }
    }
    rec.written = i;
    if let FileWriter::Flv(muxer) = writer {
        rec.flv = Some(muxer);
    }
    let mut obsolete = Vec::new();
    if rec.tail > 0 {
        obsolete.push(old_tail);
    }
    if i < rec.total {
        rec.tail = buffer.len() as u64;
        if !buffer.is_empty() {
            budget.spend(1);
            let tail = keys::harvest_tail(&job.id, i);
            cx.objects.put(&tail, &buffer, &Metadata::new()).await?;
            obsolete.retain(|k| *k != tail);
        }
        return Ok(obsolete);
    }
    // The last part, then the object.
    if !buffer.is_empty() || rec.uploaded.is_empty() {
        upload(cx, rec, &key, &upload_id, &buffer, budget).await?;
    }
    rec.tail = 0;
    let length = rec.bytes_written();
    if rec.bytes_total.is_some_and(|t| t != length) {
        return Err(corrupt("the file's length differs from its header's plan"));
    }
    rec.bytes_total = Some(length);
    rec.flv = None;
    budget.spend(1);
    cx.objects
        .complete_multipart(&key, &upload_id, &rec.uploaded, &file_metadata(job))
        .await?;
    job.status = Status::Succeeded;
    if job.format == Format::Mp4 {
        obsolete.extend(
            (0..rec.total.div_ceil(INDEX_PARTS_PER_OBJECT))
                .map(|n| keys::harvest_index(&job.id, n)),
        );
    }
    Ok(obsolete)
}

/// Uploads the next part.
async fn upload<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    rec: &mut Recording,
    key: &str,
    upload_id: &str,
    body: &[u8],
    budget: &Budget,
) -> OriginResult<()> {
    let number = rec.uploaded.len() + 1;
    if number > MAX_PARTS {
        return Err(OriginError::BadRequest(format!(
            "the recording passes {MAX_PARTS} parts of {} MiB",
            PART_BYTES >> 20
        )));
    }
    let number = u16::try_from(number).map_err(|_| corrupt("part number"))?;
    budget.spend(1);
    let part = cx.objects.upload_part(key, upload_id, number, body).await?;
    rec.uploaded.push(part);
    Ok(())
}
