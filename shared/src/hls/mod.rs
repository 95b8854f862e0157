//! HLS output (RFC 8216bis): master and media playlists rendered from timelines.

pub mod master;
mod query;
mod render;

pub use query::carry_query;
pub use render::{
    last_media_sequence, live_window, live_window_min_s, render_master, render_media, MasterEntry,
    MediaWindow, MAX_GAP_SEGMENTS,
};
