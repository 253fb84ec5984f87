//! What both example servers share: configuration from Hydra's environment variables, store
//! selection, back-channel logout delivery, and graceful shutdown.

use std::future::Future;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use oauth2_provider::config::parse_duration;
use oauth2_provider::model::secret::Secret;
use oauth2_provider::{Config, MemoryStore, Provider, Store};
use tokio::sync::watch;

mod notifier;

/// `println!` that never panics: a server must not die because its stdout was closed.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that never panics.
macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[allow(unused_imports)] // each example uses its own subset
pub(crate) use {say, say_err};

/// How long in-flight requests may take to finish after SIGINT/SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the server could not start or stopped badly; decides the exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The configuration is wrong (exit code 2).
    Config(String),
    /// Anything else: a port in use, a store failure (exit code 1).
    Runtime(String),
}

impl Failure {
    /// Prints one line on stderr and returns the exit code.
    pub(crate) fn report(self) -> ExitCode {
        match self {
            Self::Config(why) => {
                say_err!("configuration error: {why}");
                ExitCode::from(2)
            }
            Self::Runtime(why) => {
                say_err!("error: {why}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Everything the environment configures.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Where the public API listens (`PUBLIC_HOST:PUBLIC_PORT`).
    public_addr: SocketAddr,
    /// Where the admin API listens (`ADMIN_HOST:ADMIN_PORT`).
    admin_addr: SocketAddr,
    /// The provider configuration.
    config: Config,
    /// `DATABASE_URL`, `memory` by default.
    database_url: String,
    /// Whether `SYSTEM_SECRET` was set (otherwise the secret is random).
    system_secret_set: bool,
    /// Where the demo pages live, if this server has them.
    demo_path: Option<&'static str>,
    /// How often expired tokens, requests and sessions are flushed (`FLUSH_INTERVAL`,
    /// default 1h; `0` turns it off).
    flush_interval: Option<std::time::Duration>,
}

/// A provider with its two bound listeners, ready to serve.
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) provider: Provider,
    pub(crate) public: tokio::net::TcpListener,
    pub(crate) admin: tokio::net::TcpListener,
}

/// An environment variable; empty counts as unset, as in Hydra.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn socket_addr(host_var: &str, port_var: &str, default_port: u16) -> Result<SocketAddr, Failure> {
    let host = var(host_var).unwrap_or_else(|| "127.0.0.1".into());
    let port = match var(port_var) {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| Failure::Config(format!("{port_var}={p:?} is not a port number")))?,
        None => default_port,
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| Failure::Config(format!("{host_var}={host:?} does not resolve")))
}

fn duration(name: &str) -> Result<Option<time::Duration>, Failure> {
    var(name)
        .map(|v| parse_duration(&v).map_err(|e| Failure::Config(format!("{name}: {}", e.0))))
        .transpose()
}

fn flag(name: &str) -> Result<bool, Failure> {
    match var(name).as_deref() {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(other) => Err(Failure::Config(format!(
            "{name}={other:?} must be true or false"
        ))),
    }
}

/// The provider configuration from the environment. Without `OAUTH2_ISSUER_URL`, the issuer
/// is `http://127.0.0.1:{public_port}/`, so discovery stays true when the port changes.
fn config_from_env(public_port: u16, demo_path: Option<&str>) -> Result<Config, Failure> {
    let issuer =
        var("OAUTH2_ISSUER_URL").unwrap_or_else(|| format!("http://127.0.0.1:{public_port}/"));
    let mut config =
        Config::new(&issuer).map_err(|e| Failure::Config(format!("OAUTH2_ISSUER_URL: {}", e.0)))?;
    if let Some(demo) = demo_path {
        let base = config.issuer.trim_end_matches('/').to_owned();
        config.login_url = format!("{base}{demo}/login");
        config.consent_url = format!("{base}{demo}/consent");
        config.logout_url = format!("{base}{demo}/logout");
    }
    for (name, field) in [
        ("OAUTH2_LOGIN_URL", &mut config.login_url),
        ("OAUTH2_CONSENT_URL", &mut config.consent_url),
        ("OAUTH2_ERROR_URL", &mut config.error_url),
        ("OAUTH2_LOGOUT_URL", &mut config.logout_url),
        (
            "OAUTH2_LOGOUT_REDIRECT_URL",
            &mut config.logout_redirect_url,
        ),
    ] {
        if let Some(url) = var(name) {
            *field = url;
        }
    }
    if let Some(secret) = var("SYSTEM_SECRET") {
        config.system_secret = Secret::new(secret.into_bytes());
    }
    config.pairwise_salt = var("OIDC_SUBJECT_TYPES_PAIRWISE_SALT").map(Secret::new);
    config.share_error_debug = flag("OAUTH2_SHARE_ERROR_DEBUG")?;
    let lifespans = &mut config.lifespans;
    if let Some(d) = duration("ACCESS_TOKEN_LIFESPAN")? {
        lifespans.access_token = d;
    }
    if let Some(d) = duration("ID_TOKEN_LIFESPAN")? {
        lifespans.id_token = d;
    }
    if let Some(d) = duration("AUTH_CODE_LIFESPAN")? {
        lifespans.auth_code = d;
    }
    // Hydra beta.8 documented this name for the login and consent challenges but ignored it.
    if let Some(d) = duration("CHALLENGE_TOKEN_LIFESPAN")? {
        lifespans.login_consent_request = d;
    }
    // `-1` (Hydra's spelling) means refresh tokens never expire.
    match var("REFRESH_TOKEN_LIFESPAN").as_deref() {
        Some("-1") => lifespans.refresh_token = None,
        Some(_) => lifespans.refresh_token = duration("REFRESH_TOKEN_LIFESPAN")?,
        None => {}
    }
    config.validate().map_err(|e| Failure::Config(e.0))?;
    Ok(config)
}

impl Settings {
    /// Reads and checks the environment. `demo_path`, when set, is the path under the issuer
    /// where the demo login and consent pages live; they become the default login and
    /// consent URLs.
    pub(crate) fn from_env(demo_path: Option<&'static str>) -> Result<Self, Failure> {
        let public_addr = socket_addr("PUBLIC_HOST", "PUBLIC_PORT", 4444)?;
        let admin_addr = socket_addr("ADMIN_HOST", "ADMIN_PORT", 4445)?;
        let config = config_from_env(public_addr.port(), demo_path)?;
        let database_url = var("DATABASE_URL").unwrap_or_else(|| "memory".into());
        let system_secret_set = var("SYSTEM_SECRET").is_some();
        let flush_interval = match var("FLUSH_INTERVAL").as_deref() {
            Some("0") => None,
            Some(_) => duration("FLUSH_INTERVAL")?
                .and_then(|d| std::time::Duration::try_from(d).ok())
                .filter(|d| !d.is_zero()),
            None => Some(std::time::Duration::from_secs(3600)),
        };
        if !system_secret_set && database_url == "memory" {
            say_err!(
                "warning: SYSTEM_SECRET is not set; using a random one, so login sessions and \
                 cookies will not survive a restart"
            );
        }
        Ok(Self {
            public_addr,
            admin_addr,
            config,
            database_url,
            system_secret_set,
            demo_path,
            flush_interval,
        })
    }

    /// Binds both listeners, opens the store and builds the provider, then prints where it
    /// listens (the tests of the examples read these lines).
    pub(crate) async fn start(mut self) -> Result<Started, Failure> {
        let store = open_store(&self.database_url).await?;
        if self.database_url != "memory" && !self.system_secret_set {
            return Err(Failure::Config(
                "SYSTEM_SECRET must be set with a durable DATABASE_URL: it seals the signing \
                 keys kept in the database and signs the cookies, and a random one would leave \
                 both unreadable after a restart"
                    .into(),
            ));
        }
        let public = bind(self.public_addr, "public").await?;
        let admin = bind(self.admin_addr, "admin").await?;
        let public_addr = local_addr(&public)?;
        let admin_addr = local_addr(&admin)?;
        if public_addr.port() != self.public_addr.port() {
            // PUBLIC_PORT=0: the default issuer must name the port the OS chose.
            self.config = config_from_env(public_addr.port(), self.demo_path)?;
        }
        let provider = Provider::builder(self.config)
            .store(store)
            .build()
            .await
            .map_err(|e| Failure::Runtime(format!("the provider could not start: {e}")))?;
        if let Some(interval) = self.flush_interval {
            tokio::spawn(flush_every(provider.clone(), interval));
        }
        tokio::spawn(notifier::deliver_every(provider.clone()));
        say!("public API listening on http://{public_addr}");
        say!("admin API listening on http://{admin_addr}");
        say!("issuer {}", provider.config().issuer);
        Ok(Started {
            provider,
            public,
            admin,
        })
    }
}

/// Deletes what expired every `interval`: SQL tables would otherwise only grow, and the
/// memory store cleans up its open flows by itself but not its tokens and sessions.
async fn flush_every(provider: Provider, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match provider.flush(None).await {
            Ok(flushed) if flushed.tokens + flushed.requests + flushed.login_sessions == 0 => {}
            Ok(flushed) => say!(
                "flushed {} tokens, {} login/consent requests, {} login sessions",
                flushed.tokens,
                flushed.requests,
                flushed.login_sessions
            ),
            Err(e) => say_err!("flush failed (retried in {interval:?}): {e}"),
        }
    }
}

/// Opens the store `DATABASE_URL` names. Each durable backend adds its branch here.
async fn open_store(database_url: &str) -> Result<Arc<dyn Store>, Failure> {
    // Only the scheme is ever echoed: the rest may hold a password.
    let scheme = database_url
        .split_once(':')
        .map_or(database_url, |(scheme, _)| scheme);
    match scheme {
        "memory" => Ok(Arc::new(MemoryStore::new())),
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        "sqlite" | "postgres" | "postgresql" => oauth2_provider::store::sql::connect(database_url)
            .await
            // A database that is down or unreadable at start is a configuration problem for
            // the operator: exit 2 with the reason, never serve on a broken store.
            .map_err(|e| Failure::Config(format!("DATABASE_URL={scheme}…: {e}"))),
        #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
        "sqlite" | "postgres" | "postgresql" => Err(Failure::Config(format!(
            "DATABASE_URL={scheme} needs the sqlite/postgres feature, which this build does not have"
        ))),
        _ => Err(Failure::Config(format!(
            "DATABASE_URL={scheme}: unknown store; use memory, sqlite:… or postgres://…"
        ))),
    }
}

/// Binds a listener; a failure (port in use, no permission) is a runtime failure.
async fn bind(addr: SocketAddr, what: &str) -> Result<tokio::net::TcpListener, Failure> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Runtime(format!("cannot listen on {addr} for the {what} API: {e}")))
}

fn local_addr(listener: &tokio::net::TcpListener) -> Result<SocketAddr, Failure> {
    listener
        .local_addr()
        .map_err(|e| Failure::Runtime(format!("the listener has no address: {e}")))
}

/// Fires once on SIGINT or SIGTERM; every listener waits on it.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    signalled: watch::Receiver<bool>,
}

impl Shutdown {
    /// Starts listening for SIGINT and SIGTERM.
    pub(crate) fn on_signals() -> Result<Self, Failure> {
        let (tx, rx) = watch::channel(false);
        #[cfg(unix)]
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| Failure::Runtime(format!("cannot listen for SIGTERM: {e}")))?;
        tokio::spawn(async move {
            #[cfg(unix)]
            let terminate = sigterm.recv();
            #[cfg(not(unix))]
            let terminate = std::future::pending::<Option<()>>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate => {}
            }
            say_err!("shutting down: no new connections; finishing requests in flight");
            let _ = tx.send(true);
        });
        Ok(Self { signalled: rx })
    }

    /// Resolves when a signal arrived.
    pub(crate) fn signalled(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.signalled.clone();
        async move {
            // An error means the sender is gone, which only happens after it fired.
            let _ = rx.wait_for(|fired| *fired).await;
        }
    }

    /// Runs `servers` (which stop accepting and drain on [`Shutdown::signalled`]) and gives
    /// them [`DRAIN_TIMEOUT`] after the signal to finish.
    pub(crate) async fn serve<F>(&self, servers: F) -> Result<(), Failure>
    where
        F: Future<Output = std::io::Result<()>>,
    {
        tokio::pin!(servers);
        let result = tokio::select! {
            result = &mut servers => result,
            () = self.signalled() => match tokio::time::timeout(DRAIN_TIMEOUT, servers).await {
                Ok(result) => result,
                Err(_) => {
                    say_err!("requests still in flight after {DRAIN_TIMEOUT:?}; stopping anyway");
                    Ok(())
                }
            },
        };
        result.map_err(|e| Failure::Runtime(format!("the server failed: {e}")))
    }
}
