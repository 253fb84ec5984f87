//! Checking a presented client secret without stalling the server.
//!
//! A generated secret is checked with one SHA-256 (microseconds). A secret a person chose is
//! stored as PBKDF2 with 600,000 iterations, about 0.1 s of CPU per check: run on the async
//! executor, it stopped every other request on that thread, and anyone who knew a client id
//! could stall the server by sending wrong secrets. So:
//!
//! * slow checks run on a dedicated thread pool ([`workers`] threads, at most [`QUEUE`]
//!   waiting); when the queue is full the request fails at once with 503
//!   `temporarily_unavailable`, and other requests never wait for a hash;
//! * a successful slow check is remembered for [`REMEMBER_FOR`] under a keyed digest of (stored
//!   hash, presented secret), so a legitimate client pays for PBKDF2 once, not per request.
//!   The key is random per process and the digest is useless without it; a changed secret
//!   changes the stored hash, so a remembered check never outlives the secret.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::OAuthError;
use crate::model::client::SecretHash;

/// Slow checks waiting for a worker at most; beyond, requests get 503.
const QUEUE: usize = 32;
/// How long a successful slow check is remembered.
const REMEMBER_FOR: Duration = Duration::from_secs(600);
/// Remembered checks at most; when full, expired ones are dropped, then all if none expired.
const REMEMBERED_MAX: usize = 10_000;

/// Whether `presented` is the secret `hash` stands for.
pub(crate) async fn verify(hash: &SecretHash, presented: &str) -> Result<bool, OAuthError> {
    if !hash.is_slow() {
        return Ok(hash.verify(presented));
    }
    let pool = pool();
    let key = pool.remembered_key(hash, presented);
    if pool.is_remembered(&key) {
        return Ok(true);
    }
    let busy = || {
        OAuthError::temporarily_unavailable(
            "Too many client authentications with chosen secrets are in progress; retry shortly.",
        )
    };
    let (hash, secret) = (hash.clone(), presented.to_owned());
    let reply = pool.submit(move || hash.verify(&secret)).ok_or_else(busy)?;
    let verified = reply.await.ok_or_else(busy)?;
    if verified {
        pool.remember(key);
    }
    Ok(verified)
}

/// Worker threads: half the cores (at least one), so hashing never takes every core.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: SyncSender<Job>,
    remember_key: [u8; 32],
    remembered: Mutex<HashMap<[u8; 32], Instant>>,
}

/// The process-wide pool, started on the first slow check (most deployments never have one).
fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers() {
            let queue = Arc::clone(&queue);
            // A worker that cannot start leaves the queue to the others; with none, every
            // slow check fails with 503 once the queue is full (never a false success).
            let _ = std::thread::Builder::new()
                .name(format!("oauth2-secret-check-{n}"))
                .spawn(move || work(&queue));
        }
        Pool {
            jobs,
            remember_key: crate::crypto::random_bytes::<32>(),
            remembered: Mutex::new(HashMap::new()),
        }
    })
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match job {
            // A panicking job must not take the worker with it: its reply slot closes
            // without a value (a 503 for that request) and the next job runs.
            Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
            Err(_) => return,
        }
    }
}

impl Pool {
    /// Queues `f` for a worker; `None` when the queue is full. The reply is `None` if the
    /// job was dropped without running.
    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<Reply<T>> {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let reply = Reply(Arc::clone(&slot));
        let sender = SlotSender(slot);
        match self.jobs.try_send(Box::new(move || sender.send(f()))) {
            Ok(()) => Some(reply),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => None,
        }
    }

    fn remembered_key(&self, hash: &SecretHash, presented: &str) -> [u8; 32] {
        // Length-prefixed, so that no two (hash, secret) pairs feed the same bytes.
        let stored = hash.stored_form();
        crate::crypto::hmac_sha256(
            &self.remember_key,
            &[
                &(stored.len() as u64).to_be_bytes(),
                stored.as_bytes(),
                presented.as_bytes(),
            ],
        )
    }

    fn is_remembered(&self, key: &[u8; 32]) -> bool {
        let remembered = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        remembered
            .get(key)
            .is_some_and(|at| at.elapsed() < REMEMBER_FOR)
    }

    fn remember(&self, key: [u8; 32]) {
        let mut remembered = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        if remembered.len() >= REMEMBERED_MAX {
            remembered.retain(|_, at| at.elapsed() < REMEMBER_FOR);
            if remembered.len() >= REMEMBERED_MAX {
                remembered.clear();
            }
        }
        remembered.insert(key, Instant::now());
    }
}

/// A one-shot reply from a worker to the task awaiting it.
struct Slot<T> {
    value: Option<T>,
    /// The worker is done with the slot (sent, or dropped the job without sending).
    closed: bool,
    waker: Option<Waker>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            value: None,
            closed: false,
            waker: None,
        }
    }
}

struct SlotSender<T>(Arc<Mutex<Slot<T>>>);

impl<T> SlotSender<T> {
    fn send(self, value: T) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).value = Some(value);
        // Drop closes the slot and wakes the receiver.
    }
}

impl<T> Drop for SlotSender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
            slot.closed = true;
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

struct Reply<T>(Arc<Mutex<Slot<T>>>);

impl<T> Future for Reply<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.closed {
            return Poll::Ready(slot.value.take());
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }

    #[test]
    fn chosen_secrets_are_checked_off_thread_and_remembered_only_when_right() {
        let hash = SecretHash::of_chosen("a secret somebody chose");
        assert!(!block_on(verify(&hash, "a wrong secret of some length")).unwrap());
        let pool = pool();
        let wrong = pool.remembered_key(&hash, "a wrong secret of some length");
        assert!(!pool.is_remembered(&wrong), "failures are never remembered");
        assert!(block_on(verify(&hash, "a secret somebody chose")).unwrap());
        let right = pool.remembered_key(&hash, "a secret somebody chose");
        assert!(pool.is_remembered(&right));
        // Another hash of the same secret (a new salt: the secret was set again) is checked
        // afresh.
        let again = SecretHash::of_chosen("a secret somebody chose");
        assert!(!pool.is_remembered(&pool.remembered_key(&again, "a secret somebody chose")));
    }

    /// A pool with room for one job and no worker: jobs stay queued until `queue` drops.
    fn pool_without_workers() -> (Pool, Receiver<Job>) {
        let (jobs, queue) = mpsc::sync_channel::<Job>(1);
        let pool = Pool {
            jobs,
            remember_key: [0; 32],
            remembered: Mutex::new(HashMap::new()),
        };
        (pool, queue)
    }

    #[test]
    fn a_full_queue_refuses_instead_of_waiting() {
        let (pool, _queue) = pool_without_workers();
        // The first job waits in the queue, the second is refused.
        let _waiting = pool.submit(|| 1).unwrap();
        assert!(pool.submit(|| 2).is_none());
    }

    #[test]
    fn a_panicking_job_fails_alone_and_the_worker_goes_on() {
        let pool = pool();
        let failed = pool
            .submit(|| -> u8 { panic!("a job that panics") })
            .unwrap();
        assert_eq!(block_on(failed), None);
        assert_eq!(block_on(pool.submit(|| 7).unwrap()), Some(7));
    }

    #[test]
    fn a_job_dropped_unrun_ends_the_wait() {
        let (pool, queue) = pool_without_workers();
        let reply = pool.submit(|| 1).unwrap();
        drop(queue); // the job inside is dropped, closing its slot
        assert_eq!(block_on(reply), None);
    }
}
