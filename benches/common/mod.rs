//! Helpers shared by the benches.

pub mod child;
pub mod files;
pub mod tally;
