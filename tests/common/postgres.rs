//! A scratch PostgreSQL database per test, on the server `TEST_DATABASE_URL` /
//! `DATABASE_URL` names (default `postgres://postgres@127.0.0.1:5432/postgres`). Without a
//! reachable server a test prints why and skips — unless `CI` is set, where it fails.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// The server to test against; each test makes its own database on it.
fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .ok()
        .filter(|url| url.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh database; [`ScratchDb::drop_now`] removes it.
pub(crate) struct ScratchDb {
    admin: String,
    name: String,
    /// The URL of the scratch database.
    pub(crate) url: String,
}

impl ScratchDb {
    /// Creates `oauth2_<purpose>_<pid>_<nanos>`; `None` (after printing why) when no server
    /// is reachable outside CI.
    pub(crate) async fn create(purpose: &str) -> Option<Self> {
        let admin = server_url();
        let mut conn = match PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(error) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping PostgreSQL {purpose}: {error} (set TEST_DATABASE_URL)");
                return None;
            }
            Err(error) => panic!("PostgreSQL is required in CI ({purpose}): {error}"),
        };
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let name = format!("oauth2_{purpose}_{}_{nanos}", std::process::id());
        // Identifiers cannot be bound; this one is a fixed word and digits.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE on the test server");
        let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Some(Self {
            admin,
            name,
            url: url.to_string(),
        })
    }

    /// Opens a connection holding `oauth2_tokens` locked in an open transaction: every token
    /// insert waits in the database until that transaction ends.
    pub(crate) async fn lock_tokens(&self) -> PgConnection {
        let mut locker = PgConnection::connect(&self.url).await.unwrap();
        sqlx::raw_sql("BEGIN; LOCK TABLE oauth2_tokens IN ACCESS EXCLUSIVE MODE")
            .execute(&mut locker)
            .await
            .unwrap();
        locker
    }

    /// Lets no new connection in and ends every open one but `keep`, waiting until each
    /// backend is gone. Whatever waits behind a lock `keep` holds dies without committing,
    /// which `DROP DATABASE … WITH (FORCE)` alone does not promise: it may end the lock
    /// holder first, and a waiter may commit before its own end reaches it.
    pub(crate) async fn cut_off_all_but(&self, keep: &mut PgConnection) {
        let keep_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(keep)
            .await
            .unwrap();
        let mut conn = self
            .on_server(format!(
                "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
                self.name
            ))
            .await;
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> $2",
        )
        .bind(&self.name)
        .bind(keep_pid)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert!(ended.iter().all(|&gone| gone), "a backend outlived 10 s");
    }

    /// Drops the database (closing any connection still open to it).
    pub(crate) async fn drop_now(self) {
        self.on_server(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .await;
    }

    /// Runs `statement` on a new connection to the server (not to this database) and returns
    /// that connection. Identifiers cannot be bound: the statement names this database, a
    /// fixed word and digits.
    async fn on_server(&self, statement: String) -> PgConnection {
        let mut conn = PgConnection::connect(&self.admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    }
}
