//! Checking a presented client secret without stalling the server, per provider.
//!
//! A generated secret is checked with one SHA-256 (microseconds). A secret a person chose is
//! stored as PBKDF2 with 600,000 iterations, about 0.1 s of CPU per check: run on the async
//! executor, it stopped every other request on that thread, and anyone who knew a client id
//! could stall the server by sending wrong secrets. So:
//!
//! * slow checks run on a [`SecretCheckExecutor`]. The default is a small pool of dedicated
//!   threads of the provider's own, started on the first slow check (most deployments never
//!   have one), with a bounded queue; when the queue is full the request fails at once with
//!   503 `temporarily_unavailable`, and other requests never wait for a hash. A host can hand
//!   the checks to its own executor instead (for example `tokio::task::spawn_blocking`);
//! * a successful slow check is remembered for a while (10 minutes by default) under a keyed
//!   digest of (stored hash, presented secret), so a legitimate client pays for PBKDF2 once,
//!   not per request. The key is random per provider and the digest is useless without it; a
//!   changed secret changes the stored hash, so a remembered check never outlives the secret.
//!
//! Nothing here is process-wide: two providers in one process share neither threads nor
//! remembered checks.

use std::collections::HashMap;
use std::fmt;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_channel::oneshot;

use crate::error::OAuthError;
use crate::model::client::SecretHash;

/// Slow checks waiting for a worker of the built-in pool at most, by default.
const QUEUE: usize = 32;
/// How long a successful slow check is remembered, by default.
const REMEMBER_FOR: Duration = Duration::from_secs(600);
/// Remembered checks at most; when full, expired ones are dropped, then all if none expired.
const REMEMBERED_MAX: usize = 10_000;

/// One slow secret check, ready to run. It blocks its thread for about 0.1 s of CPU.
pub type SecretCheckJob = Box<dyn FnOnce() + Send + 'static>;

/// Runs the slow secret checks of a provider (PBKDF2 hashes of secrets a person chose) off the
/// async executor; set with
/// [`ProviderBuilder::secret_check_executor`](crate::ProviderBuilder::secret_check_executor).
///
/// The default runs them on a few threads of the provider's own. A host that has a pool for
/// blocking work can use it instead:
///
/// ```
/// use oauth2_provider::{SecretCheckExecutor, SecretCheckJob};
///
/// #[derive(Debug)]
/// struct SpawnBlocking(tokio::runtime::Handle);
///
/// impl SecretCheckExecutor for SpawnBlocking {
///     fn execute(&self, job: SecretCheckJob) {
///         self.0.spawn_blocking(job);
///     }
/// }
/// ```
pub trait SecretCheckExecutor: Send + Sync + fmt::Debug {
    /// Runs `job` to completion on a thread where blocking is acceptable, without waiting for
    /// it. To refuse the job (no capacity left), drop it: that check, and only that one, then
    /// fails with 503 `temporarily_unavailable`, as it does if the job panics.
    fn execute(&self, job: SecretCheckJob);
}

/// How a provider runs its slow secret checks (the builder's settings).
#[derive(Debug, Clone)]
pub(crate) struct SecretCheckOptions {
    /// Threads of the built-in pool.
    pub(crate) workers: usize,
    /// Checks that may wait for a thread of the built-in pool.
    pub(crate) queue: usize,
    /// How long a successful check is remembered.
    pub(crate) remember_for: Duration,
    /// The host's executor, replacing the built-in pool.
    pub(crate) executor: Option<Arc<dyn SecretCheckExecutor>>,
}

impl Default for SecretCheckOptions {
    fn default() -> Self {
        Self {
            workers: default_workers(),
            queue: QUEUE,
            remember_for: REMEMBER_FOR,
            executor: None,
        }
    }
}

/// Half the cores (at least one), so hashing never takes every core.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// The slow secret checks of one provider: where they run and which successes are remembered.
#[derive(Debug)]
pub(crate) struct SecretChecks {
    executor: Arc<dyn SecretCheckExecutor>,
    remember_for: Duration,
    remember_key: [u8; 32],
    remembered: Mutex<HashMap<[u8; 32], Instant>>,
}

impl SecretChecks {
    /// The checks of a new provider; the built-in pool starts no thread before its first job.
    pub(crate) fn new(options: SecretCheckOptions) -> Self {
        let executor = options
            .executor
            .unwrap_or_else(|| Arc::new(ThreadPool::new(options.workers, options.queue)) as Arc<_>);
        Self {
            executor,
            remember_for: options.remember_for,
            remember_key: crate::crypto::random_bytes::<32>(),
            remembered: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `presented` is the secret `hash` stands for.
    pub(crate) async fn verify(
        &self,
        hash: &SecretHash,
        presented: &str,
    ) -> Result<bool, OAuthError> {
        if !hash.is_slow() {
            return Ok(hash.verify(presented));
        }
        let key = self.remembered_key(hash, presented);
        if self.is_remembered(&key) {
            return Ok(true);
        }
        let (hash, secret) = (hash.clone(), presented.to_owned());
        let verified = self
            .run(move || hash.verify(&secret))
            .await
            .ok_or_else(|| {
                OAuthError::temporarily_unavailable(
                    "Too many client authentications with chosen secrets are in progress; retry shortly.",
                )
            })?;
        if verified {
            self.remember(key);
        }
        Ok(verified)
    }

    /// Runs `f` on the executor; `None` if the job was refused, dropped or panicked.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.executor.execute(Box::new(move || {
            // The receiver may be gone (the request was dropped); nobody needs the answer.
            let _ = reply.send(f());
        }));
        answer.await.ok()
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
            .is_some_and(|at| at.elapsed() < self.remember_for)
    }

    fn remember(&self, key: [u8; 32]) {
        let mut remembered = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        if remembered.len() >= REMEMBERED_MAX {
            remembered.retain(|_, at| at.elapsed() < self.remember_for);
            if remembered.len() >= REMEMBERED_MAX {
                remembered.clear();
            }
        }
        remembered.insert(key, Instant::now());
    }
}

/// The built-in executor: `workers` threads of one provider, started on the first job, with
/// at most `queue` jobs waiting; a job beyond is dropped, so its check fails with 503. The
/// threads end when the provider is dropped.
#[derive(Debug)]
struct ThreadPool {
    workers: usize,
    queue: usize,
    jobs: OnceLock<SyncSender<SecretCheckJob>>,
}

impl ThreadPool {
    fn new(workers: usize, queue: usize) -> Self {
        Self {
            workers,
            queue,
            jobs: OnceLock::new(),
        }
    }

    fn start(&self) -> SyncSender<SecretCheckJob> {
        let (jobs, queue) = mpsc::sync_channel::<SecretCheckJob>(self.queue);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..self.workers {
            let queue = Arc::clone(&queue);
            // A worker that cannot start leaves the queue to the others; with none, every
            // slow check fails with 503 once the queue is full (never a false success).
            let _ = std::thread::Builder::new()
                .name(format!("oauth2-secret-check-{n}"))
                .spawn(move || work(&queue));
        }
        jobs
    }
}

impl SecretCheckExecutor for ThreadPool {
    fn execute(&self, job: SecretCheckJob) {
        // Full or without workers: the job is dropped here, and its check fails with 503.
        let _ = self.jobs.get_or_init(|| self.start()).try_send(job);
    }
}

fn work(queue: &Mutex<Receiver<SecretCheckJob>>) {
    loop {
        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match job {
            // A panicking job must not take the worker with it: its reply is dropped without
            // a value (a 503 for that request) and the next job runs.
            Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
            // The provider is gone.
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Poll;

    use super::*;

    const CHOSEN: &str = "a secret somebody chose";
    const WRONG: &str = "a wrong secret of some length";

    fn checks() -> SecretChecks {
        SecretChecks::new(SecretCheckOptions::default())
    }

    /// Checks on the given executor (remembered like the default's).
    fn checks_on(executor: Arc<dyn SecretCheckExecutor>) -> SecretChecks {
        SecretChecks::new(SecretCheckOptions {
            executor: Some(executor),
            ..SecretCheckOptions::default()
        })
    }

    #[tokio::test]
    async fn chosen_secrets_are_checked_off_thread_and_remembered_only_when_right() {
        let checks = checks();
        let hash = SecretHash::of_chosen(CHOSEN);
        assert!(!checks.verify(&hash, WRONG).await.unwrap());
        let wrong = checks.remembered_key(&hash, WRONG);
        assert!(
            !checks.is_remembered(&wrong),
            "failures are never remembered"
        );
        assert!(checks.verify(&hash, CHOSEN).await.unwrap());
        assert!(checks.is_remembered(&checks.remembered_key(&hash, CHOSEN)));
        // Another hash of the same secret (a new salt: the secret was set again) is checked
        // afresh.
        let again = SecretHash::of_chosen(CHOSEN);
        assert!(!checks.is_remembered(&checks.remembered_key(&again, CHOSEN)));
    }

    #[tokio::test]
    async fn two_providers_remember_apart() {
        let (one, other) = (checks(), checks());
        let hash = SecretHash::of_chosen(CHOSEN);
        assert!(one.verify(&hash, CHOSEN).await.unwrap());
        assert!(one.is_remembered(&one.remembered_key(&hash, CHOSEN)));
        assert!(!other.is_remembered(&other.remembered_key(&hash, CHOSEN)));
        assert_ne!(
            one.remembered_key(&hash, CHOSEN),
            other.remembered_key(&hash, CHOSEN)
        );
    }

    #[tokio::test]
    async fn nothing_is_remembered_for_zero_seconds() {
        let checks = SecretChecks::new(SecretCheckOptions {
            remember_for: Duration::ZERO,
            ..SecretCheckOptions::default()
        });
        let hash = SecretHash::of_chosen(CHOSEN);
        assert!(checks.verify(&hash, CHOSEN).await.unwrap());
        assert!(!checks.is_remembered(&checks.remembered_key(&hash, CHOSEN)));
    }

    /// A host executor: a thread per job, counted.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl SecretCheckExecutor for Counting {
        fn execute(&self, job: SecretCheckJob) {
            self.0.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(job);
        }
    }

    #[tokio::test]
    async fn a_host_executor_runs_the_slow_checks() {
        let host = Arc::new(Counting::default());
        let checks = checks_on(host.clone());
        let fast = SecretHash::of_generated("a generated secret of enough length, 0123456789");
        assert!(
            checks
                .verify(&fast, "a generated secret of enough length, 0123456789")
                .await
                .unwrap()
        );
        assert_eq!(host.0.load(Ordering::SeqCst), 0, "fast checks run inline");
        let hash = SecretHash::of_chosen(CHOSEN);
        assert!(checks.verify(&hash, CHOSEN).await.unwrap());
        assert_eq!(host.0.load(Ordering::SeqCst), 1);
        assert!(checks.verify(&hash, CHOSEN).await.unwrap());
        assert_eq!(host.0.load(Ordering::SeqCst), 1, "remembered");
        assert!(!checks.verify(&hash, WRONG).await.unwrap());
        assert_eq!(host.0.load(Ordering::SeqCst), 2);
    }

    /// An executor that refuses every job.
    #[derive(Debug)]
    struct Refusing;

    impl SecretCheckExecutor for Refusing {
        fn execute(&self, job: SecretCheckJob) {
            drop(job);
        }
    }

    #[tokio::test]
    async fn a_refused_check_is_temporarily_unavailable_never_a_success() {
        let checks = checks_on(Arc::new(Refusing));
        let err = checks
            .verify(&SecretHash::of_chosen(CHOSEN), CHOSEN)
            .await
            .unwrap_err();
        assert_eq!(err.error, "temporarily_unavailable");
        assert_eq!(err.status, http::StatusCode::SERVICE_UNAVAILABLE);
    }

    /// A pool with room for one job and no worker: jobs stay queued until `queue` drops.
    fn pool_without_workers() -> (SecretChecks, Receiver<SecretCheckJob>) {
        let (jobs, queue) = mpsc::sync_channel::<SecretCheckJob>(1);
        let pool = ThreadPool {
            workers: 0,
            queue: 1,
            jobs: OnceLock::from(jobs),
        };
        (checks_on(Arc::new(pool)), queue)
    }

    /// Submits a job to `checks` and shows that it waits: its reply is pending.
    async fn queue_one(checks: &SecretChecks) -> Pin<Box<impl Future<Output = Option<u8>> + '_>> {
        let mut reply = Box::pin(checks.run(|| 1));
        assert!(poll_once(reply.as_mut()).await.is_none());
        reply
    }

    #[tokio::test]
    async fn a_full_queue_refuses_instead_of_waiting() {
        let (checks, _queue) = pool_without_workers();
        // The first job waits in the queue, the second is refused at once.
        let _waiting = queue_one(&checks).await;
        assert_eq!(checks.run(|| 2).await, None);
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_worker_goes_on() {
        let checks = SecretChecks::new(SecretCheckOptions {
            workers: 1,
            ..SecretCheckOptions::default()
        });
        assert_eq!(
            checks.run(|| -> u8 { panic!("a job that panics") }).await,
            None
        );
        assert_eq!(checks.run(|| 7).await, Some(7));
    }

    #[tokio::test]
    async fn a_job_dropped_unrun_ends_the_wait() {
        let (checks, queue) = pool_without_workers();
        let reply = queue_one(&checks).await;
        drop(queue); // the job inside is dropped, and its reply with it
        assert_eq!(reply.await, None);
    }

    /// Polls `future` once: `Some` if it is ready.
    async fn poll_once<F: Future + Unpin>(mut future: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| match Pin::new(&mut future).poll(cx) {
            Poll::Ready(out) => Poll::Ready(Some(out)),
            Poll::Pending => Poll::Ready(None),
        })
        .await
    }
}
