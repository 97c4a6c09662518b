//! Lessons: the manifest and the check rules live in the core ([`slipway::lesson`]), shared with the server,
//! which judges the same checks itself in classroom mode; `lesson_panel.rs` fetches what a check needs.

pub use slipway::lesson::*;
