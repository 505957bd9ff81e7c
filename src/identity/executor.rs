//! Runs blocking writes on a writer thread and hands their results to
//! futures, so the async write API works under any executor without
//! blocking it and without depending on a runtime.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;

use super::StoreError;

type Job = Box<dyn FnOnce() + Send>;

/// A lazily started thread that runs write jobs in order.
#[derive(Default)]
pub(crate) struct Worker {
    jobs: Mutex<Option<Sender<Job>>>,
}

impl Worker {
    /// Queues `job`; the returned future resolves to its result. If the
    /// thread cannot be started, or the job panics, the future resolves to
    /// [`StoreError::Backend`].
    pub(crate) fn run<T, F>(&self, job: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot {
            result: None,
            waker: None,
        }));
        let completer = Completer {
            slot: Some(Arc::clone(&slot)),
        };
        let job: Job = Box::new(move || {
            let mut completer = completer;
            let result = job();
            completer.complete(result);
        });
        if let Err(job) = self.submit(job) {
            // Dropping the job completes it with an error.
            drop(job);
        }
        Pending { slot }
    }

    fn submit(&self, job: Job) -> Result<(), Job> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        let job = match jobs.as_ref() {
            Some(sender) => match sender.send(job) {
                Ok(()) => return Ok(()),
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let (sender, receiver) = mpsc::channel::<Job>();
        let started = thread::Builder::new()
            .name("alknet-identity-writer".into())
            .spawn(move || {
                for job in receiver {
                    // A panicking job completes its future with an error
                    // (its completer is dropped); the thread carries on.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                }
            });
        if started.is_err() {
            return Err(job);
        }
        let outcome = sender.send(job).map_err(|mpsc::SendError(job)| job);
        *jobs = Some(sender);
        outcome
    }
}

struct Slot<T> {
    result: Option<Result<T, StoreError>>,
    waker: Option<Waker>,
}

/// Completes a slot exactly once, with an error if dropped unused.
struct Completer<T> {
    slot: Option<Arc<Mutex<Slot<T>>>>,
}

impl<T> Completer<T> {
    fn complete(&mut self, result: Result<T, StoreError>) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        let waker = {
            let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            slot.result = Some(result);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        self.complete(Err(StoreError::backend(
            "the identity writer stopped before finishing the write",
        )));
    }
}

/// The result of a queued write.
pub(crate) struct Pending<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for Pending<T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                match &slot.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => slot.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}
