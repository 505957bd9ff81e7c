//! Helpers shared by the benches.

pub mod files;
pub mod tally;
