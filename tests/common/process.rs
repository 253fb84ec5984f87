//! Runs an example server for real: builds its binary with this test's features, starts it
//! on ports the OS chooses (or given ones), and speaks HTTP/1.1 to it over loopback with
//! `Connection: close`. The child is killed when the [`Server`] is dropped, so a failing
//! test leaves no server behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a starting server may take to print where it listens (migrations included).
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one HTTP exchange may take.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The cargo features this test was built with, which the example must have too (a
/// `DATABASE_URL=sqlite:…` test needs an example built with `sqlite`).
fn features() -> String {
    let mut features = vec!["testing", "tower"];
    if cfg!(feature = "sqlite") {
        features.push("sqlite");
    }
    if cfg!(feature = "postgres") {
        features.push("postgres");
    }
    if cfg!(feature = "rsa") {
        features.push("rsa");
    }
    features.join(",")
}

/// The example's binary, next to this test's. `cargo test` builds the examples, but a lone
/// `cargo test --test NAME` does not, and an existing binary may be stale or built with
/// other features: so it is built here, once per test process (a no-op when up to date).
pub(crate) fn example(name: &'static str) -> PathBuf {
    static BUILT: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples");
    if !built.contains(&name) {
        let status = Command::new(env!("CARGO"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "--example", name, "--features"])
            .arg(features())
            .status()
            .unwrap();
        assert!(status.success(), "building the {name} example failed");
        built.push(name);
    }
    dir.join(name)
}

/// Runs the example with only `env` in its environment, on ports chosen by the OS unless
/// `env` sets `PUBLIC_PORT`/`ADMIN_PORT`.
pub(crate) fn command(name: &'static str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(example(name));
    cmd.env_clear()
        .env("PUBLIC_PORT", "0")
        .env("ADMIN_PORT", "0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A running example; killed (SIGKILL) and reaped when dropped.
pub(crate) struct Server {
    child: Child,
    /// `host:port` of the public API.
    pub(crate) public: String,
    /// `host:port` of the admin API.
    pub(crate) admin: String,
    /// Everything the server wrote on stderr so far, for failure messages.
    stderr: Arc<Mutex<String>>,
}

/// Copies a pipe into `sink` line by line until it closes, so the child never blocks on a
/// full pipe; `tx`, if given, also receives each line.
fn drain(
    pipe: impl Read + Send + 'static,
    sink: Arc<Mutex<String>>,
    tx: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut text = sink.lock().unwrap_or_else(|e| e.into_inner());
            text.push_str(&line);
            text.push('\n');
            drop(text);
            if let Some(tx) = &tx {
                let _ = tx.send(line);
            }
        }
    });
}

impl Server {
    /// Starts the example `name` with `env` and waits (at most [`READY_TIMEOUT`]) until it
    /// prints the addresses of both APIs.
    pub(crate) fn start(name: &'static str, env: &[(&str, &str)]) -> Self {
        let (mut server, addrs) = Self::start_listening(
            name,
            env,
            &[
                "public API listening on http://",
                "admin API listening on http://",
            ],
        );
        [server.public, server.admin] = addrs.try_into().unwrap();
        server
    }

    /// Starts the example `name` with `env` and waits (at most [`READY_TIMEOUT`]) until its
    /// first stdout lines are `prefixes`, each followed by an address; those addresses.
    pub(crate) fn start_listening(
        name: &'static str,
        env: &[(&str, &str)],
        prefixes: &[&str],
    ) -> (Self, Vec<String>) {
        let mut child = command(name, env).spawn().unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        drain(child.stdout.take().unwrap(), stdout, Some(tx));
        drain(child.stderr.take().unwrap(), Arc::clone(&stderr), None);
        let mut server = Self {
            child,
            public: String::new(),
            admin: String::new(),
            stderr,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut addrs = Vec::new();
        for prefix in prefixes {
            let line = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{name} did not start within {READY_TIMEOUT:?}: {}",
                        server.stderr()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait().unwrap();
                    panic!("{name} exited at start ({status}): {}", server.stderr())
                }
            };
            let addr = line
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("unexpected line {line:?}"))
                .to_owned();
            addrs.push(addr);
        }
        (server, addrs)
    }

    /// What the server wrote on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The port of `host:port`.
    pub(crate) fn port(addr: &str) -> &str {
        addr.rsplit(':').next().unwrap()
    }

    /// Sends SIGTERM without waiting.
    pub(crate) fn signal_term(&self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    }

    /// Waits (at most `timeout`) until the server wrote `text` on stderr.
    pub(crate) fn wait_for_stderr(&self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.stderr().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} on stderr: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM and returns the exit code.
    pub(crate) fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop within 5 s of SIGTERM");
    }

    /// Waits (at most `timeout`) for the server to exit by itself; its exit code.
    pub(crate) fn wait_exit(mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not stop within {timeout:?}");
    }

    /// Kills the server with SIGKILL (no chance to flush or clean up) and reaps it.
    pub(crate) fn kill(mut self) -> ExitStatus {
        self.child.kill().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response, read to the end.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// Header names in lower case, in order, repeats kept.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Response {
    /// The first header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {:?}", self.status, self.body))
    }
}

/// One HTTP/1.1 exchange: `target` is the path and query, `headers` come after `Host` and
/// `Connection: close`, and `declared_len` is the announced `Content-Length` (more than
/// `body` to announce a body that is never sent).
pub(crate) fn exchange(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    declared_len: usize,
) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {declared_len}\r\n\r\n"));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    assert!(
        !headers.iter().any(|(n, _)| n == "transfer-encoding"),
        "this client reads only Content-Length bodies: {head}"
    );
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// One exchange with a JSON body (or none); returns the status and the body.
pub(crate) fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let res = exchange(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        body,
        body.len(),
    );
    (res.status, res.body)
}
