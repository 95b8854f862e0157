//! Packaging: what each endpoint protocol makes of the channel's timelines.

pub mod probe;
