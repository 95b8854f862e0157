//! Media formats: MPEG-TS demux and CMAF (fragmented MP4) mux.
pub mod codec;
pub mod mp4;
pub mod reader;
pub mod remux;
pub mod time;
pub mod ts;
