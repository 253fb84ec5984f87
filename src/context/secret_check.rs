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
//!   changed secret changes the stored hash, so a remembered check never outlives the secret;
//! * one client cannot starve the others: it may have at most [`IN_FLIGHT_PER_CLIENT`] slow
//!   checks running or queued, and after [`FREE_FAILURES`] wrong secrets in a row its next
//!   checks back off (1 s, doubling, at most [`MAX_BACKOFF`]) and are refused with 503 without
//!   hashing. An attacker who knows a client id can slow down that client's chosen-secret
//!   authentications (a remembered success still passes), never anyone else's. Generated
//!   secrets, checked with one SHA-256, need none of this and are the recommended kind.
//!
//! Nothing here is process-wide: two providers in one process share neither threads nor
//! remembered checks.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
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
/// Slow checks one client may have running or waiting at once.
const IN_FLIGHT_PER_CLIENT: u32 = 2;
/// Wrong secrets in a row a client may present before its slow checks back off.
const FREE_FAILURES: u32 = 3;
/// The longest back-off after wrong secrets.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Failures older than this are forgotten.
const FAILURES_FORGOTTEN_AFTER: Duration = Duration::from_secs(600);
/// Clients tracked at most; when full, those with nothing running and no back-off are dropped.
const CLIENTS_MAX: usize = 10_000;

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
    clients: Mutex<HashMap<String, ClientChecks>>,
    /// Slow checks admitted and not finished: queued or running (an operator's gauge).
    in_flight: AtomicUsize,
}

/// The slow checks of one client: how many are under way, and its recent failures.
#[derive(Debug, Default)]
struct ClientChecks {
    in_flight: u32,
    failures: u32,
    last_failure: Option<Instant>,
}

impl ClientChecks {
    /// Until when its checks are refused after `failures` wrong secrets in a row.
    fn blocked_until(&self) -> Option<Instant> {
        let last = self.last_failure?;
        let over = self.failures.checked_sub(FREE_FAILURES)?;
        let backoff = Duration::from_secs(1u64 << over.min(16)).min(MAX_BACKOFF);
        last.checked_add(backoff)
    }

    fn is_idle(&self, now: Instant) -> bool {
        self.in_flight == 0 && self.blocked_until().is_none_or(|until| until <= now)
    }
}

/// A slow check admitted for a client; dropping it (also when the request is dropped)
/// ends it.
struct Admitted<'a> {
    checks: &'a SecretChecks,
    client_id: &'a str,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.checks.in_flight.fetch_sub(1, Ordering::Relaxed);
        let mut clients = self.checks.clients();
        if let Some(client) = clients.get_mut(self.client_id) {
            client.in_flight = client.in_flight.saturating_sub(1);
            if client.in_flight == 0 && client.failures == 0 {
                clients.remove(self.client_id);
            }
        }
    }
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
            clients: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Slow checks queued or running now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether `presented` is the secret `hash` of client `client_id` stands for.
    pub(crate) async fn verify(
        &self,
        client_id: &str,
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
        let admitted = self.admit(client_id, Instant::now())?;
        let (hash, secret) = (hash.clone(), presented.to_owned());
        let verified = self
            .run(move || hash.verify(&secret))
            .await
            .ok_or_else(|| {
                OAuthError::temporarily_unavailable(
                    "Too many client authentications with chosen secrets are in progress; retry shortly.",
                )
            })?;
        self.record(client_id, verified, Instant::now());
        drop(admitted);
        if verified {
            self.remember(key);
        }
        Ok(verified)
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<String, ClientChecks>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits one more slow check of `client_id`, unless the client backs off after wrong
    /// secrets or has [`IN_FLIGHT_PER_CLIENT`] checks under way: then a 503.
    fn admit<'a>(&'a self, client_id: &'a str, now: Instant) -> Result<Admitted<'a>, OAuthError> {
        let mut clients = self.clients();
        if clients.len() >= CLIENTS_MAX && !clients.contains_key(client_id) {
            clients.retain(|_, c| !c.is_idle(now));
        }
        let client = clients.entry(client_id.to_owned()).or_default();
        if client
            .last_failure
            .is_some_and(|at| now.saturating_duration_since(at) > FAILURES_FORGOTTEN_AFTER)
        {
            client.failures = 0;
            client.last_failure = None;
        }
        if let Some(until) = client.blocked_until().filter(|until| *until > now) {
            let wait = until.saturating_duration_since(now).as_secs().max(1);
            return Err(OAuthError::temporarily_unavailable(format!(
                "Too many wrong secrets for this client; retry in {wait} s."
            )));
        }
        if client.in_flight >= IN_FLIGHT_PER_CLIENT {
            return Err(OAuthError::temporarily_unavailable(
                "Too many authentications of this client are in progress; retry shortly.",
            ));
        }
        client.in_flight += 1;
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok(Admitted {
            checks: self,
            client_id,
        })
    }

    /// Counts a finished check of `client_id`: a success forgets its failures.
    fn record(&self, client_id: &str, verified: bool, now: Instant) {
        let mut clients = self.clients();
        let Some(client) = clients.get_mut(client_id) else {
            return;
        };
        if verified {
            client.failures = 0;
            client.last_failure = None;
        } else {
            client.failures = client.failures.saturating_add(1);
            client.last_failure = Some(now);
        }
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
        assert!(!checks.verify("client", &hash, WRONG).await.unwrap());
        let wrong = checks.remembered_key(&hash, WRONG);
        assert!(
            !checks.is_remembered(&wrong),
            "failures are never remembered"
        );
        assert!(checks.verify("client", &hash, CHOSEN).await.unwrap());
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
        assert!(one.verify("client", &hash, CHOSEN).await.unwrap());
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
        assert!(checks.verify("client", &hash, CHOSEN).await.unwrap());
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
                .verify(
                    "client",
                    &fast,
                    "a generated secret of enough length, 0123456789"
                )
                .await
                .unwrap()
        );
        assert_eq!(host.0.load(Ordering::SeqCst), 0, "fast checks run inline");
        let hash = SecretHash::of_chosen(CHOSEN);
        assert!(checks.verify("client", &hash, CHOSEN).await.unwrap());
        assert_eq!(host.0.load(Ordering::SeqCst), 1);
        assert!(checks.verify("client", &hash, CHOSEN).await.unwrap());
        assert_eq!(host.0.load(Ordering::SeqCst), 1, "remembered");
        assert!(!checks.verify("client", &hash, WRONG).await.unwrap());
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
            .verify("client", &SecretHash::of_chosen(CHOSEN), CHOSEN)
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
    async fn checks_in_flight_count_queued_and_running_checks_until_they_end() {
        let (checks, _queue) = pool_without_workers();
        let hash = SecretHash::of_chosen(CHOSEN);
        let mut waiting = Box::pin(checks.verify("client", &hash, CHOSEN));
        assert!(poll_once(waiting.as_mut()).await.is_none());
        assert_eq!(checks.in_flight(), 1);
        drop(waiting);
        assert_eq!(checks.in_flight(), 0);
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

    #[test]
    fn wrong_secrets_back_off_doubling_and_a_success_forgets_them() {
        let checks = SecretChecks::new(SecretCheckOptions::default());
        let t0 = Instant::now();
        let fail = |at: Instant| {
            let admitted = checks.admit("a", at).unwrap();
            checks.record("a", false, at);
            drop(admitted);
        };
        for _ in 0..FREE_FAILURES {
            fail(t0);
        }
        // Backing off for 1 s: refused without hashing, other clients unaffected.
        let err = checks.admit("a", t0).err().unwrap();
        assert_eq!(err.status, http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(checks.admit("b", t0).is_ok());
        let t1 = t0 + Duration::from_secs(1);
        fail(t1);
        // Two seconds now.
        assert!(checks.admit("a", t1 + Duration::from_millis(1900)).is_err());
        let t2 = t1 + Duration::from_secs(2);
        let admitted = checks.admit("a", t2).unwrap();
        checks.record("a", true, t2);
        drop(admitted);
        assert!(
            checks.admit("a", t2).is_ok(),
            "a success forgets the failures"
        );
        assert!(
            checks.clients().get("a").is_none(),
            "and the client is no longer tracked"
        );
    }

    #[test]
    fn the_back_off_is_capped_and_old_failures_are_forgotten() {
        let checks = SecretChecks::new(SecretCheckOptions::default());
        let t0 = Instant::now();
        for _ in 0..40 {
            checks.clients().entry("a".into()).or_default();
            checks.record("a", false, t0);
        }
        assert!(
            checks
                .admit("a", t0 + MAX_BACKOFF - Duration::from_millis(1))
                .is_err()
        );
        assert!(checks.admit("a", t0 + MAX_BACKOFF).is_ok());
        let later = t0 + FAILURES_FORGOTTEN_AFTER + Duration::from_secs(1);
        drop(checks.admit("a", later).unwrap());
        assert!(
            checks.clients().get("a").is_none(),
            "an idle client is not tracked"
        );
    }

    #[test]
    fn a_client_has_at_most_two_checks_under_way() {
        let checks = SecretChecks::new(SecretCheckOptions::default());
        let now = Instant::now();
        let first = checks.admit("a", now).unwrap();
        let _second = checks.admit("a", now).unwrap();
        assert!(checks.admit("a", now).is_err());
        assert!(checks.admit("b", now).is_ok());
        drop(first);
        assert!(checks.admit("a", now).is_ok());
    }

    #[tokio::test]
    async fn wrong_secrets_for_one_client_do_not_starve_another() {
        // Issue 10, item 12: one worker and a queue of three. Before, a burst of wrong secrets
        // for `attacked` filled the queue and every other client got 503.
        let checks = Arc::new(SecretChecks::new(SecretCheckOptions {
            workers: 1,
            queue: 3,
            ..SecretCheckOptions::default()
        }));
        let hash = SecretHash::of_chosen(CHOSEN);
        let attack: Vec<_> = (0..12)
            .map(|_| {
                let (checks, hash) = (Arc::clone(&checks), hash.clone());
                tokio::spawn(async move { checks.verify("attacked", &hash, WRONG).await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(checks.verify("other", &hash, CHOSEN).await.unwrap());
        for outcome in attack {
            // Each attempt is a wrong secret or a 503, never a success.
            assert!(!matches!(outcome.await.unwrap(), Ok(true)));
        }
    }
}
