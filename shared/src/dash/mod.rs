//! MPEG-DASH output (ISO/IEC 23009-1, DASH-IF IOP live profile): the MPD writer.

mod mpd;

pub use mpd::{write_mpd, AdaptationSet, Mpd, MpdType, Period, Representation};
