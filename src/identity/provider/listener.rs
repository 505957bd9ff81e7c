//! The listener thread of a provider: it catches up on every commit to the
//! store's file, from any process, retries with a growing backoff while the
//! provider is not healthy, and re-serves grants whose `valid_until` passes.

use std::sync::Weak;
use std::thread;
use std::time::{Duration, Instant};

use super::catch_up::Shared;
use crate::feed::{Wake, Woken};
use crate::identity::ProviderHealth;
use crate::time::now_ms;

/// The longest the listener sleeps between checks that its provider is
/// still alive.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// How soon the listener first retries after a catch-up that left the
/// provider unhealthy; each further failure doubles it, up to
/// [`MAX_RETRY`].
const RETRY: Duration = Duration::from_millis(50);

/// The longest the listener waits between retries.
const MAX_RETRY: Duration = Duration::from_secs(1);

/// Starts the listener of `provider` on a thread of its own, woken by
/// `wake`.
pub(super) fn spawn(provider: Weak<Shared>, wake: Wake) -> std::io::Result<()> {
    thread::Builder::new()
        .name("alknet-identity-listener".into())
        .spawn(move || listen(provider, wake))
        .map(drop)
}

/// The listener thread: catches up on every commit to the file (from any
/// process), reloads everything after a watcher restart, retries (backing
/// off) while the provider is not healthy, and re-serves grants whose
/// `valid_until` passes. Exits once its provider is dropped.
fn listen(provider: Weak<Shared>, mut wake: Wake) {
    let mut retry_at: Option<Instant> = None;
    let mut backoff = RETRY;
    loop {
        let deadline = {
            let Some(shared) = provider.upgrade() else {
                return;
            };
            let mut deadline = Instant::now() + IDLE_CHECK;
            if let Some(t) = shared.next_expiry() {
                let wait = u64::try_from(t.saturating_sub(now_ms())).unwrap_or(0);
                deadline = deadline.min(Instant::now() + Duration::from_millis(wait));
            }
            if let Some(retry) = retry_at {
                deadline = deadline.min(retry);
            }
            deadline
        };
        let woken = wake.wait(Some(deadline));
        let Some(shared) = provider.upgrade() else {
            return;
        };
        let health = match woken {
            Woken::Changed => Some(shared.catch_up(0)),
            Woken::Restarted => {
                shared.invalidate();
                Some(shared.catch_up(0))
            }
            Woken::TimedOut if retry_at.is_some_and(|t| Instant::now() >= t) => {
                Some(shared.catch_up(0))
            }
            Woken::TimedOut => None,
        };
        match health {
            Some(ProviderHealth::Healthy) => {
                retry_at = None;
                backoff = RETRY;
            }
            Some(_) => {
                retry_at = Some(Instant::now() + backoff);
                backoff = (backoff * 2).min(MAX_RETRY);
            }
            None => {}
        }
        let now = now_ms();
        if shared.next_expiry().is_some_and(|t| t <= now) {
            shared.advance(now);
        }
    }
}
