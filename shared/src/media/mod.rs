//! Media formats: MPEG-TS demux and CMAF (fragmented MP4) mux.
pub mod reader;
pub mod time;
pub mod ts;
