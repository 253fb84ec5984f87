//! What both example servers share: configuration from Hydra's environment variables, store
//! selection, back-channel logout delivery, and graceful shutdown.

use std::future::Future;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use oauth2_provider::config::parse_duration;
use oauth2_provider::model::secret::Secret;
use oauth2_provider::{
    AccessTokenStrategy, Algorithm, AuditEvent, Config, DynamicRegistration, EventSink,
    MemoryStore, Provider, RegistrationPolicy, RsaBits, Store,
};
use tokio::sync::watch;

pub(crate) mod client_metadata;
pub(crate) mod http_client;
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

pub(crate) mod telemetry;

/// Hydra's path of the Prometheus metrics, on the admin listener.
pub(crate) const METRICS_PATH: &str = "/metrics/prometheus";

#[allow(unused_imports)] // each example uses its own subset
pub(crate) use {say, say_err};

/// How long in-flight requests may take to finish after SIGINT/SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Before the drain timeout ends, requests still running are answered 503 instead, and this
/// long is left for those answers to reach their clients: no connection is cut mid-request.
const ANSWER_MARGIN: Duration = Duration::from_secs(1);

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
    /// Where audit events go as JSON lines (`AUDIT_LOG`: a file path, or `-` for stdout).
    audit_log: Option<String>,
    /// The requests counted and timed, unless `PROMETHEUS_METRICS=false`.
    metrics: Option<Arc<telemetry::Metrics>>,
}

/// A provider with its two bound listeners, ready to serve.
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) provider: Provider,
    pub(crate) public: tokio::net::TcpListener,
    pub(crate) admin: tokio::net::TcpListener,
    /// Served at `/metrics/prometheus` on the admin listener, if on.
    pub(crate) metrics: Option<Arc<telemetry::Metrics>>,
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
    flag_or(name, false)
}

/// A boolean variable, `default` when unset.
fn flag_or(name: &str, default: bool) -> Result<bool, Failure> {
    match var(name).as_deref() {
        None => Ok(default),
        Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(other) => Err(Failure::Config(format!(
            "{name}={other:?} must be true or false"
        ))),
    }
}

/// A comma-separated list, trimmed, without empty items.
fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The pairwise salt, as Hydra reads it: `OIDC_SUBJECT_TYPES_SUPPORTED` (default `public`)
/// lists `public` and/or `pairwise`; with `pairwise`, `OIDC_SUBJECT_TYPE_PAIRWISE_SALT` is
/// required. This provider always supports `public`, so a list without it is refused.
fn pairwise_salt() -> Result<Option<Secret>, Failure> {
    if var("OIDC_SUBJECT_TYPES_PAIRWISE_SALT").is_some() {
        return Err(Failure::Config(
            "OIDC_SUBJECT_TYPES_PAIRWISE_SALT is not Hydra's name; use \
             OIDC_SUBJECT_TYPE_PAIRWISE_SALT (and OIDC_SUBJECT_TYPES_SUPPORTED=public,pairwise)"
                .into(),
        ));
    }
    let types = var("OIDC_SUBJECT_TYPES_SUPPORTED")
        .map_or_else(|| vec!["public".into()], |v| comma_list(&v));
    if let Some(other) = types
        .iter()
        .find(|t| !matches!(t.as_str(), "public" | "pairwise"))
    {
        return Err(Failure::Config(format!(
            "OIDC_SUBJECT_TYPES_SUPPORTED: unknown subject type {other:?}; use public or public,pairwise"
        )));
    }
    if !types.iter().any(|t| t == "public") {
        return Err(Failure::Config(
            "OIDC_SUBJECT_TYPES_SUPPORTED must include public: this provider always supports it"
                .into(),
        ));
    }
    let salt = var("OIDC_SUBJECT_TYPE_PAIRWISE_SALT");
    match (types.iter().any(|t| t == "pairwise"), salt) {
        (true, Some(salt)) => Ok(Some(Secret::new(salt))),
        (true, None) => Err(Failure::Config(
            "OIDC_SUBJECT_TYPES_SUPPORTED includes pairwise: set OIDC_SUBJECT_TYPE_PAIRWISE_SALT \
             (at least 8 bytes)"
                .into(),
        )),
        (false, Some(_)) => {
            say_err!(
                "warning: OIDC_SUBJECT_TYPE_PAIRWISE_SALT is ignored: OIDC_SUBJECT_TYPES_SUPPORTED \
                 does not include pairwise"
            );
            Ok(None)
        }
        (false, None) => Ok(None),
    }
}

/// The default kind of access token: beta.8's `OAUTH2_ACCESS_TOKEN_STRATEGY` or Hydra
/// v1/v2's `STRATEGIES_ACCESS_TOKEN`, `opaque` (default) or `jwt`.
fn access_token_strategy() -> Result<AccessTokenStrategy, Failure> {
    let names = ["OAUTH2_ACCESS_TOKEN_STRATEGY", "STRATEGIES_ACCESS_TOKEN"];
    let mut chosen: Option<(&str, AccessTokenStrategy)> = None;
    for name in names {
        let Some(value) = var(name) else { continue };
        let strategy = value
            .parse::<AccessTokenStrategy>()
            .map_err(|_| Failure::Config(format!("{name}={value:?} must be opaque or jwt")))?;
        if let Some((other, earlier)) = chosen.filter(|(_, earlier)| *earlier != strategy) {
            return Err(Failure::Config(format!(
                "{other}={earlier} and {name}={strategy} disagree"
            )));
        }
        chosen = Some((name, strategy));
    }
    Ok(chosen.map(|(_, s)| s).unwrap_or_default())
}

/// Hydra v1.0.0-beta.8's variables that these servers do not read, with what to do instead.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "OAUTH2_CLIENT_REGISTRATION_URL",
        "there is no registration endpoint",
    ),
    (
        "ROTATED_SYSTEM_SECRET",
        "list the old secret after the new one in SYSTEM_SECRET, comma-separated",
    ),
    ("DATABASE_PLUGIN", "implement the Store traits instead"),
    (
        "HTTPS_ALLOW_TERMINATION_FROM",
        "terminate TLS in front; the issuer decides https",
    ),
    ("HTTPS_TLS_CERT_PATH", "terminate TLS in front"),
    ("HTTPS_TLS_KEY_PATH", "terminate TLS in front"),
    ("HTTPS_TLS_CERT", "terminate TLS in front"),
    ("HTTPS_TLS_KEY", "terminate TLS in front"),
    (
        "BCRYPT_COST",
        "chosen secrets use PBKDF2 with 600,000 iterations",
    ),
    ("SCOPE_STRATEGY", "scopes always match with wildcards"),
    (
        "COOKIE_SECRET",
        "cookies are signed with a key derived from SYSTEM_SECRET",
    ),
    (
        "RESOURCE_NAME_PREFIX",
        "there are no access control policies",
    ),
    (
        "CORS_ENABLED",
        "CORS follows each client's allowed_cors_origins",
    ),
    (
        "CORS_ALLOWED_ORIGINS",
        "CORS follows each client's allowed_cors_origins",
    ),
    (
        "CORS_ALLOWED_METHODS",
        "CORS follows each client's allowed_cors_origins",
    ),
    (
        "CORS_ALLOWED_HEADERS",
        "CORS follows each client's allowed_cors_origins",
    ),
    (
        "CORS_EXPOSED_HEADERS",
        "CORS follows each client's allowed_cors_origins",
    ),
    (
        "CORS_ALLOW_CREDENTIALS",
        "CORS follows each client's allowed_cors_origins",
    ),
    (
        "CORS_MAX_AGE",
        "CORS follows each client's allowed_cors_origins",
    ),
    (
        "CORS_DEBUG",
        "CORS follows each client's allowed_cors_origins",
    ),
    (
        "TRACING_PROVIDER",
        "install a tracing subscriber (OpenTelemetry) in the host",
    ),
    (
        "TRACING_SERVICE_NAME",
        "install a tracing subscriber in the host",
    ),
    (
        "TRACING_PROVIDER_JAEGER_SAMPLING_SERVER_URL",
        "install a tracing subscriber in the host",
    ),
    (
        "TRACING_PROVIDER_JAEGER_LOCAL_AGENT_ADDRESS",
        "install a tracing subscriber in the host",
    ),
    (
        "TRACING_PROVIDER_JAEGER_SAMPLING_TYPE",
        "install a tracing subscriber in the host",
    ),
    (
        "TRACING_PROVIDER_JAEGER_SAMPLING_VALUE",
        "install a tracing subscriber in the host",
    ),
    ("DISABLE_TELEMETRY", "there is no telemetry"),
];

/// Names every Hydra variable that is set but not read, so that a migrant sees what is
/// ignored.
fn warn_unsupported() {
    for (name, instead) in UNSUPPORTED {
        if var(name).is_some() {
            say_err!("warning: {name} (Hydra) is not supported and is ignored: {instead}");
        }
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
    // Several comma-separated secrets rotate it: the first signs and seals, all verify and open.
    if let Some(secrets) = var("SYSTEM_SECRET") {
        let mut secrets = secrets
            .split(',')
            .map(|s| Secret::new(s.as_bytes().to_vec()));
        if let Some(first) = secrets.next() {
            config.system_secret = first;
        }
        config.old_system_secrets = secrets.collect();
    }
    config.pairwise_salt = pairwise_salt()?;
    let list = |name| var(name).map(|v| comma_list(&v)).unwrap_or_default();
    config.scopes_supported = list("OIDC_DISCOVERY_SCOPES_SUPPORTED");
    config.claims_supported = list("OIDC_DISCOVERY_CLAIMS_SUPPORTED");
    config.userinfo_endpoint = var("OIDC_DISCOVERY_USERINFO_ENDPOINT");
    config.share_error_debug = flag("OAUTH2_SHARE_ERROR_DEBUG")?;
    config.access_token_strategy = access_token_strategy()?;
    // Hydra v2's `oidc.dynamic_client_registration.enabled` and `.default_scope`; open
    // registration, as Hydra's.
    if flag("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED")? {
        let mut registration = DynamicRegistration::new(RegistrationPolicy::Open);
        if let Some(scope) = var("OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE") {
            registration.default_scope = comma_list(&scope);
        }
        config.dynamic_client_registration = Some(registration);
    }
    config.client_id_metadata_documents = flag("OAUTH2_CLIENT_ID_METADATA_DOCUMENTS")?;
    config.dangerous.http_loopback_client_metadata =
        flag("DANGEROUS_ALLOW_LOOPBACK_CLIENT_METADATA")?;
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
    // Hydra beta.8 documented this name for the login and consent challenges but ignored it;
    // beta.9 named it LOGIN_CONSENT_REQUEST_LIFESPAN.
    let requests = duration("CHALLENGE_TOKEN_LIFESPAN")?;
    if let Some(d) = requests.or(duration("LOGIN_CONSENT_REQUEST_LIFESPAN")?) {
        lifespans.login_consent_request = d;
    }
    // `-1` (Hydra's spelling) means refresh tokens never expire.
    match var("REFRESH_TOKEN_LIFESPAN").as_deref() {
        Some("-1") => lifespans.refresh_token = None,
        Some(_) => lifespans.refresh_token = duration("REFRESH_TOKEN_LIFESPAN")?,
        None => {}
    }
    keys_from_env(&mut config)?;
    config.validate().map_err(|e| Failure::Config(e.0))?;
    Ok(config)
}

/// `SIGNING_ALGORITHMS` (comma-separated; default RS256, PS256, ES256, EdDSA when built with
/// the `rsa` feature, else ES256, EdDSA: the first signs ID tokens of clients that name
/// none), `RSA_KEY_BITS` (2048, 3072 or 4096) and `KEY_ROTATION_PERIOD` (every enabled
/// algorithm rotates this often; unset: only on request).
fn keys_from_env(config: &mut Config) -> Result<(), Failure> {
    let keys = &mut config.keys;
    keys.algorithms = match var("SIGNING_ALGORITHMS") {
        Some(list) => list
            .split(',')
            .map(|name| {
                name.trim().parse::<Algorithm>().map_err(|_| {
                    Failure::Config(format!(
                        "SIGNING_ALGORITHMS: {name:?} is not ES256, EdDSA, RS256 or PS256"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        None => [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ]
        .into_iter()
        .filter(|alg| alg.is_compiled())
        .collect(),
    };
    if let Some(bits) = var("RSA_KEY_BITS") {
        keys.rsa_bits = bits
            .parse()
            .ok()
            .and_then(RsaBits::from_bits)
            .ok_or_else(|| {
                Failure::Config(format!("RSA_KEY_BITS={bits:?} is not 2048, 3072 or 4096"))
            })?;
    }
    if let Some(period) = duration("KEY_ROTATION_PERIOD")? {
        keys.rotation_periods = keys.algorithms.iter().map(|alg| (*alg, period)).collect();
    }
    Ok(())
}

impl Settings {
    /// Reads and checks the environment. `demo_path`, when set, is the path under the issuer
    /// where the demo login and consent pages live; they become the default login and
    /// consent URLs.
    pub(crate) fn from_env(demo_path: Option<&'static str>) -> Result<Self, Failure> {
        telemetry::install_log()?;
        let metrics = flag_or("PROMETHEUS_METRICS", true)?.then(Arc::default);
        warn_unsupported();
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
            audit_log: var("AUDIT_LOG"),
            metrics,
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
        let client_metadata = client_metadata_fetcher(&self.config)?;
        let mut builder = Provider::builder(self.config).store(store);
        if let Some(fetcher) = client_metadata {
            builder = builder.client_metadata_fetcher(fetcher);
        }
        if let Some(path) = &self.audit_log {
            builder = builder.event_sink(Arc::new(JsonLines::open(path)?));
        }
        let provider = builder
            .build()
            .await
            .map_err(|e| Failure::Runtime(format!("the provider could not start: {e}")))?;
        if let Some(interval) = self.flush_interval {
            tokio::spawn(flush_every(provider.clone(), interval));
        }
        tokio::spawn(maintain_keys_every_minute(provider.clone()));
        tokio::spawn(notifier::deliver_every(provider.clone()));
        say!("public API listening on http://{public_addr}");
        say!("admin API listening on http://{admin_addr}");
        say!("issuer {}", provider.config().issuer);
        Ok(Started {
            provider,
            public,
            admin,
            metrics: self.metrics,
        })
    }
}

/// The fetcher of Client ID Metadata Documents when `OAUTH2_CLIENT_ID_METADATA_DOCUMENTS` is
/// on; `DANGEROUS_ALLOW_LOOPBACK_CLIENT_METADATA` lets it reach loopback, loudly.
fn client_metadata_fetcher(
    config: &Config,
) -> Result<Option<Arc<dyn oauth2_provider::ClientMetadataFetcher>>, Failure> {
    let loopback = config.dangerous.http_loopback_client_metadata;
    if !config.client_id_metadata_documents {
        if loopback {
            say_err!(
                "warning: DANGEROUS_ALLOW_LOOPBACK_CLIENT_METADATA is ignored: \
                 OAUTH2_CLIENT_ID_METADATA_DOCUMENTS is off"
            );
        }
        return Ok(None);
    }
    let policy = if loopback {
        say_err!(
            "DANGER: DANGEROUS_ALLOW_LOOPBACK_CLIENT_METADATA=true: client metadata documents \
             are fetched from loopback addresses and over plain http from 127.0.0.1 and [::1]; \
             anyone who can reach this server can make it call services on this machine. For \
             tests on one machine only, never in production"
        );
        client_metadata::AddressPolicy::DangerousLoopback
    } else {
        client_metadata::AddressPolicy::PublicOnly
    };
    let fetcher = client_metadata::HyperFetcher::new(policy).map_err(Failure::Runtime)?;
    Ok(Some(Arc::new(fetcher)))
}

/// Writes each audit event as one JSON line, to a file opened for appending or to stdout.
struct JsonLines(std::sync::Mutex<Box<dyn std::io::Write + Send>>);

impl std::fmt::Debug for JsonLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonLines")
    }
}

impl JsonLines {
    fn open(path: &str) -> Result<Self, Failure> {
        let out: Box<dyn std::io::Write + Send> = if path == "-" {
            Box::new(std::io::stdout())
        } else {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Failure::Config(format!("AUDIT_LOG={path:?}: {e}")))?;
            Box::new(std::io::LineWriter::new(file))
        };
        Ok(Self(std::sync::Mutex::new(out)))
    }
}

impl EventSink for JsonLines {
    fn record(&self, event: &AuditEvent) {
        let Ok(mut line) = serde_json::to_vec(event) else {
            return;
        };
        line.push(b'\n');
        use std::io::Write as _;
        let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // A full disk loses audit lines, never requests.
        let _ = out.write_all(&line).and_then(|()| out.flush());
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

/// Scheduled key rotation, removal of retired keys whose tokens have expired, and picking up
/// what other instances on the same database did.
async fn maintain_keys_every_minute(provider: Provider) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(60));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match provider.maintain_keys().await {
            Ok(done) => {
                for (alg, kid) in &done.rotated {
                    say!("rotated the {alg} signing key; {kid} signs now");
                }
                if done.removed > 0 {
                    say!("removed {} retired signing keys", done.removed);
                }
            }
            Err(e) => say_err!("key maintenance failed (retried in a minute): {e}"),
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

/// Fires once on SIGINT or SIGTERM; every listener waits on it. A second watch fires
/// [`ANSWER_MARGIN`] before the drain timeout ends: requests still running then get a 503.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    signalled: watch::Receiver<bool>,
    overdue: watch::Receiver<bool>,
}

impl Shutdown {
    /// Starts listening for SIGINT and SIGTERM.
    pub(crate) fn on_signals() -> Result<Self, Failure> {
        let (tx, rx) = watch::channel(false);
        let (overdue_tx, overdue) = watch::channel(false);
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
            tokio::time::sleep(DRAIN_TIMEOUT.saturating_sub(ANSWER_MARGIN)).await;
            let _ = overdue_tx.send(true);
        });
        Ok(Self {
            signalled: rx,
            overdue,
        })
    }

    /// Resolves when a signal arrived.
    pub(crate) fn signalled(&self) -> impl Future<Output = ()> + Send + 'static {
        fired(self.signalled.clone())
    }

    /// Runs a request's handling; past the drain deadline, answers 503
    /// `temporarily_unavailable` (with `Connection: close`) instead of letting the process
    /// cut the connection.
    pub(crate) async fn answer<F, B>(&self, handling: F) -> http::Response<B>
    where
        F: Future<Output = http::Response<B>>,
        B: From<bytes::Bytes>,
    {
        // The handling is polled first and the watch is cloned only when polled: most
        // requests finish on their first poll, and then never touch the watch at all.
        tokio::select! {
            biased;
            res = handling => res,
            () = async { fired(self.overdue.clone()).await } => shutting_down().map(B::from),
        }
    }
}

/// Resolves once `rx` holds `true`.
async fn fired(mut rx: watch::Receiver<bool>) {
    // An error means the sender is gone, which only happens after it fired.
    let _ = rx.wait_for(|fired| *fired).await;
}

/// Hydra's error JSON for a request cut short by shutdown.
fn shutting_down() -> http::Response<bytes::Bytes> {
    let error = oauth2_provider::OAuthError::new(
        "temporarily_unavailable",
        "The server is shutting down; retry.",
        http::StatusCode::SERVICE_UNAVAILABLE,
    );
    let body = serde_json::to_vec(&error.body(false)).unwrap_or_default();
    let mut res = http::Response::new(bytes::Bytes::from(body));
    *res.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    let headers = res.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    res
}

impl Shutdown {
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
