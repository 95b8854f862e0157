//! Media formats: MPEG-TS demux and CMAF (fragmented MP4) mux.
