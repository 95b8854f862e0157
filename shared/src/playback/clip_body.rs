//! The body of a `clip.mp4` / `clip.flv` answer, streamed part by part: the first pass (in
//! the request) learned every part's output length and the MP4 header; this second pass
//! remuxes the parts the answer covers again, one per chunk, so a clip of any size is never
//! held whole. Input segments the first pass kept (up to [`CLIP_CACHE_BYTES`]) are not read
//! again. Docs: `docs/timeshift-harvest.md#clips`.

use super::recording::{push_part, read_part, FilePart, FileWriter, PartBytes};
use crate::context::Ctx;
use crate::names::Rendition;
use crate::store::{KvStore, ObjectStore};

/// Input bytes the first pass keeps for the second, so that most clips read each segment
/// once; beyond it, parts are read again while the body streams.
pub const CLIP_CACHE_BYTES: u64 = 32 << 20;

/// The rest of a clip answer: parts `next..` remuxed, `skip` bytes dropped before the
/// answer's first byte, at most `remaining` bytes sent.
pub struct ClipBody {
    pub(super) parts: Vec<FilePart>,
    pub(super) cache: Vec<Option<PartBytes>>,
    pub(super) writer: FileWriter,
    pub(super) rendition: Rendition,
    pub(super) next: usize,
    pub(super) skip: u64,
    pub(super) remaining: u64,
}

impl ClipBody {
    /// The next piece of the answer; `None` at its end, or when a part can no longer be read
    /// (expired meanwhile): the answer is then cut short.
    pub async fn next_chunk<K: KvStore, O: ObjectStore>(
        &mut self,
        cx: &Ctx<'_, K, O>,
    ) -> Option<Vec<u8>> {
        let mut flv = Vec::new();
        while self.remaining > 0 && self.next < self.parts.len() {
            let i = self.next;
            self.next += 1;
            let part = &self.parts[i];
            let bytes = match self.cache.get_mut(i).and_then(Option::take) {
                Some(b) => b,
                None => read_part(cx, part).await.ok()?,
            };
            let last = i + 1 == self.parts.len();
            push_part(
                &mut self.writer,
                &mut flv,
                part,
                &bytes,
                last,
                &self.rendition,
            )
            .ok()?;
            let mut out = self.writer.drain(&mut flv);
            let len = out.len() as u64;
            if self.skip >= len {
                self.skip -= len;
                continue;
            }
            out.drain(..usize::try_from(self.skip).unwrap_or(out.len()));
            self.skip = 0;
            out.truncate(usize::try_from(self.remaining).unwrap_or(usize::MAX));
            self.remaining -= out.len() as u64;
            return Some(out);
        }
        None
    }
}
