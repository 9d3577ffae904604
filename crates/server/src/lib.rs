//! The Coffre safe service: organisations deposit sealed originals into
//! students' safes; students finalise their safe, sign in and read them.
//! Axum over sqlx (SQLite or PostgreSQL) and object_store (a folder or S3).

#![forbid(unsafe_code)]

pub mod accounts;
pub mod activation;
pub mod blobs;
pub mod codes;
pub mod copy_page;
pub mod db;
pub mod demo;
pub mod documents;
pub mod edge;
pub mod error;
pub mod limits;
pub mod mail;
pub mod net;
pub mod operator;
pub mod orgs;
pub mod privacy;
pub mod private;
mod routes;
pub mod secrets;
pub mod sessions;
pub mod support;

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use coffre_seal::UnixTime;

pub use routes::router;

/// Where the service keeps things and how it is reached.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `postgres://…`; the default is SQLite in the data directory.
    pub database_url: Option<String>,
    /// `s3://bucket?…`; the default is `DATA_DIR/blobs`.
    pub blob_url: Option<String>,
    /// `smtp://…`; the default writes `.eml` files to `DATA_DIR/outbox`.
    pub smtp_url: Option<String>,
    /// A blob no document names is deleted once it is this old (seconds):
    /// long enough for any upload in progress to commit.
    pub orphan_grace: u64,
    /// The key tokens and codes are stored under: 64 hex digits
    /// (`COFFRE_SECRET`), else the file `secret_file`, else
    /// `DATA_DIR/secret.key` (created on the first start).
    pub secret_hex: Option<String>,
    pub secret_file: Option<PathBuf>,
    /// Proxies whose `X-Forwarded-For` names the client (`10.0.0.0/8`, …).
    pub trusted_proxies: Vec<String>,
    /// Connection limits and TLS.
    pub listen_config: net::ListenConfig,
    /// How long a small request (everything but bodies of files) may take.
    pub request_timeout: Duration,
    /// Room for each safe's personal files.
    pub quota_bytes: u64,
    /// The address people reach this service at (`https://coffre.example`):
    /// printed copies' QR codes point there. Default: `http://` and the
    /// listening address.
    pub public_url: Option<String>,
}

impl ServerConfig {
    /// The embedded defaults in `data_dir`.
    pub fn new(data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            blob_url: None,
            smtp_url: None,
            orphan_grace: 3600,
            secret_hex: None,
            secret_file: None,
            trusted_proxies: Vec::new(),
            listen_config: net::ListenConfig::default(),
            request_timeout: Duration::from_secs(30),
            quota_bytes: accounts::QUOTA_BYTES,
            public_url: None,
        }
    }
}

/// The time, given to the service so tests can pin it.
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
    })
}

/// Everything a request needs, shared by all handlers.
pub struct Stores {
    pub db: db::Db,
    pub blobs: blobs::Blobs,
    pub mailer: mail::Mailer,
    pub operator: operator::Operator,
    pub clock: Clock,
    pub limits: limits::Limiter,
    pub secret: secrets::ServerSecret,
    pub passwords: secrets::Passwords,
    pub trusted_proxies: edge::TrustedProxies,
    pub request_timeout: Duration,
    pub quota_bytes: u64,
    /// Where printed copies' QR codes point, without a trailing slash.
    pub public_url: String,
    /// Work done after its request was answered ([`AppState::spawn_chore`]).
    chores: Arc<tokio::sync::Semaphore>,
    /// Uploads are spooled here while they are hashed.
    pub tmp_dir: PathBuf,
    /// Held while serving: one server per data directory.
    _lock: Option<std::fs::File>,
}

#[derive(Clone)]
pub struct AppState(Arc<Stores>);

impl Deref for AppState {
    type Target = Stores;

    fn deref(&self) -> &Stores {
        &self.0
    }
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("db", &self.db.backend)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether the data directory is opened to serve it or by an operator's
/// command beside a server that may be running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Takes the data directory's lock (one server per directory) and
    /// empties its spool of uploads a crash cut short.
    Serve,
    /// Neither: the spool belongs to the running server.
    Admin,
}

impl AppState {
    /// Opens the data directory to serve it (creating it on the first
    /// start): database, blob store, mailer, operator PKI, secret.
    pub async fn open(config: &ServerConfig, clock: Clock) -> Result<AppState> {
        Self::open_for(config, clock, Access::Serve).await
    }

    pub async fn open_for(config: &ServerConfig, clock: Clock, access: Access) -> Result<AppState> {
        let dir = &config.data_dir;
        private::create_dir(dir)?;
        private::check_dir(dir)?;
        let lock = match access {
            Access::Serve => Some(lock(dir)?),
            Access::Admin => None,
        };
        let secret = match (&config.secret_hex, &config.secret_file) {
            (Some(hex), _) => secrets::ServerSecret::from_hex(hex).context("COFFRE_SECRET")?,
            (None, Some(file)) => secrets::ServerSecret::load_or_create(file)?,
            (None, None) => secrets::ServerSecret::load_or_create(&dir.join("secret.key"))?,
        };
        let db = db::Db::open(config.database_url.as_deref(), dir).await?;
        let blobs = blobs::Blobs::open(config.blob_url.as_deref(), dir)?;
        let mailer = mail::Mailer::open(config.smtp_url.as_deref(), dir)?;
        let operator = operator::Operator::open(dir, clock.clone())?;
        let tmp_dir = dir.join("tmp");
        if access == Access::Serve {
            // Spool files left by a crash belong to uploads never
            // acknowledged; the lock says no other server is using them.
            let _ = std::fs::remove_dir_all(&tmp_dir);
        }
        private::create_dir(&tmp_dir)?;
        let state = AppState(Arc::new(Stores {
            db,
            blobs,
            mailer,
            operator,
            clock,
            limits: limits::Limiter::default(),
            secret,
            passwords: secrets::Passwords::for_this_machine()?,
            trusted_proxies: edge::TrustedProxies::parse(&config.trusted_proxies)?,
            request_timeout: config.request_timeout,
            quota_bytes: config.quota_bytes,
            public_url: config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.listen))
                .trim_end_matches('/')
                .to_owned(),
            chores: Arc::new(tokio::sync::Semaphore::new(CHORES)),
            tmp_dir,
            _lock: lock,
        }));
        if access == Access::Serve && state.db.backend == db::Backend::Sqlite {
            // One server holds a SQLite database (the lock): reservations
            // there were a crashed server's uploads.
            documents::release_reservations_before(&state, i64::MAX)
                .await
                .map_err(|e| anyhow::anyhow!("giving back the room of unfinished uploads: {e}"))?;
        }
        Ok(state)
    }
}

/// Chores under way at most; beyond, the request that would add one is
/// answered busy before it does anything.
const CHORES: usize = 256;

impl AppState {
    /// Runs `work` after the answer (so that the answer and its time tell
    /// nothing of what `work` finds); failures are logged. `Busy` when too
    /// many are under way.
    pub fn spawn_chore<F>(&self, work: F) -> error::ApiResult<()>
    where
        F: std::future::Future<Output = error::ApiResult<()>> + Send + 'static,
    {
        let permit = Arc::clone(&self.chores)
            .try_acquire_owned()
            .map_err(|_| error::ApiError::Busy)?;
        let span = tracing::Span::current();
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                if let Err(e) = work.await {
                    tracing::error!("after the answer: {e}");
                }
                drop(permit);
            },
            span,
        ));
        Ok(())
    }
}

/// `DATA_DIR/serve.lock`, held for as long as the server runs (the system
/// releases it when the process ends, however it ends).
fn lock(dir: &std::path::Path) -> Result<std::fs::File> {
    let path = dir.join("serve.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another coffre serve is using {}: stop it first, or give this one its own --data-dir",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Deletes blobs that no document names and that are older than
/// `grace` seconds (left by uploads or deposits that never committed).
pub async fn collect_orphans(state: &AppState, grace: u64) -> Result<usize> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut deleted = 0;
    for (sha, written) in state.blobs.list_with_times().await? {
        if now - written < grace as i64 {
            continue;
        }
        if documents::release_blob(state, &sha).await? {
            deleted += 1;
        }
    }
    // Deletions a crash cut between their two halves: finished, or undone
    // where a document names the blob.
    for aside in state.blobs.list_aside().await? {
        if now - aside.since < grace as i64 {
            continue;
        }
        if documents::named(state, &aside.sha256).await?
            && !state.blobs.exists(&aside.sha256).await?
        {
            state.blobs.put_back(&aside).await?;
        } else {
            state.blobs.discard(&aside).await?;
        }
    }
    Ok(deleted)
}

/// The hourly chores: orphan blobs, expired upload reservations, old
/// counts of wrong codes, and a warning when the root's CRL goes stale.
pub async fn housekeeping(state: &AppState, orphan_grace: u64) {
    match collect_orphans(state, orphan_grace).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("collected {n} orphan blobs"),
        Err(e) => tracing::warn!("collecting orphan blobs: {e:#}"),
    }
    match documents::release_expired_reservations(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("released {n} expired upload reservations"),
        Err(e) => tracing::warn!("releasing upload reservations: {e:?}"),
    }
    if let Err(e) = codes::forget_old_failures(state).await {
        tracing::warn!("forgetting old code failures: {e:?}");
    }
    state.operator.warn_if_stale((state.clock)());
}

/// Serves until Ctrl-C with `config`'s connection limits, doing the
/// housekeeping at start and every hour. Prints the address it listens on.
pub async fn serve(state: AppState, config: &ServerConfig) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if config.listen_config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("Coffre is listening on {scheme}://{addr}");
    tracing::info!(%addr, scheme, max_connections = config.listen_config.max_connections, "listening");
    serve_on(state, listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// [`serve`] on a listener already bound, until `shutdown`.
pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
    config: &ServerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let chores = state.clone();
    let grace = config.orphan_grace;
    let housekeeping = tokio::spawn(async move {
        loop {
            housekeeping(&chores, grace).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
    let served = net::serve(
        listener,
        router(state),
        config.listen_config.clone(),
        shutdown,
    )
    .await;
    housekeeping.abort();
    served.context("serving")
}
