//! HLS output (RFC 8216bis): master and media playlists rendered from timelines.

pub mod master;
mod render;

pub use render::{live_window, render_master, render_media, MasterEntry, MediaWindow};
