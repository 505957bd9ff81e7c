//! Mean times per iteration, tallied over every timed run, for the
//! summaries the benches print after criterion's own output.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static TALLY: Mutex<BTreeMap<&'static str, (Duration, u64)>> = Mutex::new(BTreeMap::new());

pub fn tally(name: &'static str, elapsed: Duration, iters: u64) {
    let mut tally = TALLY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = tally.entry(name).or_default();
    entry.0 += elapsed;
    entry.1 += iters;
}

pub fn mean(name: &str) -> Option<Duration> {
    let tally = TALLY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tally
        .get(name)
        .filter(|(_, iters)| *iters > 0)
        .map(|(elapsed, iters)| *elapsed / (*iters as u32).max(1))
}

/// Times `f` per iteration and records it under `name`.
pub fn timed<T>(name: &'static str, mut f: impl FnMut() -> T) -> impl FnMut(u64) -> Duration {
    move |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        let elapsed = start.elapsed();
        tally(name, elapsed, iters);
        elapsed
    }
}

/// Times `f` per iteration, as [`timed`], but leaves dropping what it
/// returns out of the time (criterion's `iter_with_large_drop`): for a
/// load, whose figure is the time to have the value, not to free it.
#[allow(
    dead_code,
    reason = "each bench compiles its own copy; not all of them load"
)]
pub fn timed_apart<T>(name: &'static str, mut f: impl FnMut() -> T) -> impl FnMut(u64) -> Duration {
    move |iters| {
        let mut elapsed = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            let value = black_box(f());
            elapsed += start.elapsed();
            drop(value);
        }
        tally(name, elapsed, iters);
        elapsed
    }
}
