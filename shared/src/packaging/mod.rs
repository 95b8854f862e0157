//! Packaging: what each endpoint protocol makes of the channel's timelines.

pub mod group;
pub mod reps;
pub mod timeshift;
pub mod ts_filter;
