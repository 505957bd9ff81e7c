//! Progress of long commands (`import`, `export`, `verify`) on stderr: an
//! indicatif bar with counts, rate and time left when stderr is a
//! terminal, periodic plain lines for logs (`--progress plain`), or
//! nothing (`--quiet`, or stderr not a terminal).

use std::cell::Cell;
use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, nothing otherwise
    #[default]
    Auto,
    /// A bar (drawn only on a terminal)
    Bar,
    /// A line every few seconds, for logs
    Plain,
    /// Nothing (as --quiet)
    None,
}

/// What a progress count counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Items(&'static str),
}

/// How often a plain progress line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// One operation's progress. Cheap to update: the bar redraws at most a
/// few times a second and a plain line is printed every few seconds.
pub struct Reporter {
    what: String,
    total: Cell<u64>,
    unit: Unit,
    bar: Option<ProgressBar>,
    plain: Option<Plain>,
}

struct Plain {
    started: Instant,
    last: Cell<Instant>,
    done: Cell<u64>,
}

impl Reporter {
    /// Progress of `what` (e.g. "importing deps.json") out of `total`.
    pub fn new(mode: ProgressMode, what: impl Into<String>, total: u64, unit: Unit) -> Reporter {
        let what = what.into();
        let terminal = std::io::stderr().is_terminal();
        let (bar, plain) = match mode {
            ProgressMode::None => (None, None),
            ProgressMode::Auto if !terminal => (None, None),
            ProgressMode::Auto | ProgressMode::Bar => {
                let counts = match unit {
                    Unit::Bytes => "{bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)".to_owned(),
                    Unit::Items(noun) => {
                        format!("{{human_pos}}/{{human_len}} {noun} ({{per_sec}}, {{eta}} left)")
                    }
                };
                let template = format!("{{msg}} [{{elapsed_precise}}] {{wide_bar}} {counts}");
                let style = ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                let bar = ProgressBar::with_draw_target(
                    Some(total),
                    ProgressDrawTarget::stderr_with_hz(4),
                )
                .with_style(style)
                .with_message(what.clone());
                (Some(bar), None)
            }
            ProgressMode::Plain => {
                let now = Instant::now();
                let plain = Plain {
                    started: now,
                    last: Cell::new(now),
                    done: Cell::new(0),
                };
                (None, Some(plain))
            }
        };
        Reporter {
            what,
            total: Cell::new(total),
            unit,
            bar,
            plain,
        }
    }

    /// `done` of the total so far.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
        if let Some(plain) = &self.plain {
            plain.done.set(done);
            if plain.last.get().elapsed() >= PLAIN_EVERY {
                plain.last.set(Instant::now());
                self.line(done, plain.started.elapsed(), false);
            }
        }
    }

    /// Sets the total, when it is known only once the operation started.
    pub fn set_total(&self, total: u64) {
        self.total.set(total);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// Adds `n` to the count.
    pub fn add(&self, n: u64) {
        let done = match (&self.bar, &self.plain) {
            (Some(bar), _) => bar.position() + n,
            (_, Some(plain)) => plain.done.get() + n,
            _ => return,
        };
        self.set(done);
    }

    /// Ends the bar (it is cleared) or prints the last plain line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(plain) = &self.plain {
            self.line(plain.done.get(), plain.started.elapsed(), true);
        }
    }

    fn line(&self, done: u64, elapsed: Duration, last: bool) {
        let secs = elapsed.as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let total = self.total.get();
        let count = |n: u64| match self.unit {
            Unit::Bytes => HumanBytes(n).to_string(),
            Unit::Items(_) => n.to_string(),
        };
        let noun = match self.unit {
            Unit::Bytes => String::new(),
            Unit::Items(noun) => format!(" {noun}"),
        };
        let rate = match self.unit {
            Unit::Bytes => format!("{}/s", HumanBytes(rate as u64)),
            Unit::Items(noun) => format!("{rate:.0} {noun}/s"),
        };
        let mut text = format!(
            "{}: {} of {}{noun} ({:.0}%), {rate}, {:.1} s",
            self.what,
            count(done),
            count(total),
            if total == 0 {
                100.0
            } else {
                done as f64 * 100.0 / total as f64
            },
            secs
        );
        if !last && done > 0 && total > done {
            let left = (total - done) as f64 * secs / done as f64;
            text.push_str(&format!(", about {left:.0} s left"));
        }
        if last {
            text.push_str(", done");
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }
}

/// A reader that counts the bytes read through it into a [`Reporter`].
pub struct Counting<'r, R> {
    pub inner: R,
    pub reporter: &'r Reporter,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.reporter.add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counting_reader_passes_the_bytes_through_and_counts_them() {
        let reporter = Reporter::new(ProgressMode::Plain, "reading", 11, Unit::Bytes);
        let mut reader = Counting {
            inner: &b"hello world"[..],
            reporter: &reporter,
        };
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello world");
        assert_eq!(reporter.plain.as_ref().map(|p| p.done.get()), Some(11));
    }

    #[test]
    fn quiet_progress_keeps_no_state() {
        let reporter = Reporter::new(ProgressMode::None, "x", 10, Unit::Items("rows"));
        reporter.add(5);
        assert!(reporter.bar.is_none() && reporter.plain.is_none());
    }
}
