//! MPEG-DASH output (ISO/IEC 23009-1, DASH-IF IOP live profile): the MPD writer and the
//! selection of listed segments; `source` reads an encoder's MPD for ingest.

mod mpd;
pub mod source;
mod window;

pub use mpd::{write_mpd, AdaptationSet, ContentProtection, Mpd, MpdType, Period, Representation};
pub use window::{availability_shift_ms, is_vod, select_mpd, window_of, MpdSelection};
