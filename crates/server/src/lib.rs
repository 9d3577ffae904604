//! The Coffre safe service: organisations deposit sealed originals into
//! students' safes; students finalise their safe, sign in and read them.
//! Axum over sqlx (SQLite or PostgreSQL) and object_store (a folder or S3).

#![forbid(unsafe_code)]

pub mod accounts;
pub mod activation;
pub mod blobs;
pub mod codes;
pub mod db;
pub mod demo;
pub mod documents;
pub mod error;
pub mod limits;
pub mod mail;
pub mod operator;
pub mod orgs;
pub mod privacy;
mod routes;
pub mod secrets;
pub mod support;

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Uploads are spooled here while they are hashed.
    pub tmp_dir: PathBuf,
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

impl AppState {
    /// Opens (creating on first start) the data directory, database, blob
    /// store, mailer and operator PKI.
    pub async fn open(config: &ServerConfig, clock: Clock) -> Result<AppState> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let db = db::Db::open(config.database_url.as_deref(), &config.data_dir).await?;
        let blobs = blobs::Blobs::open(config.blob_url.as_deref(), &config.data_dir)?;
        let mailer = mail::Mailer::open(config.smtp_url.as_deref(), &config.data_dir)?;
        let operator = operator::Operator::open(&config.data_dir, clock.clone())?;
        // Spool files left by a crash belong to uploads never acknowledged.
        let tmp_dir = config.data_dir.join("tmp");
        let _ = std::fs::remove_dir_all(&tmp_dir);
        std::fs::create_dir_all(&tmp_dir)
            .with_context(|| format!("creating {}", tmp_dir.display()))?;
        Ok(AppState(Arc::new(Stores {
            db,
            blobs,
            mailer,
            operator,
            clock,
            limits: limits::Limiter::default(),
            tmp_dir,
        })))
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

/// Serves until Ctrl-C. Prints the address it listens on. Collects orphan
/// blobs at start and every hour.
pub async fn serve(state: AppState, listen: SocketAddr, orphan_grace: u64) -> Result<()> {
    let gc = state.clone();
    tokio::spawn(async move {
        loop {
            match collect_orphans(&gc, orphan_grace).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("collected {n} orphan blobs"),
                Err(e) => tracing::warn!("collecting orphan blobs: {e:#}"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    println!("Coffre is listening on http://{addr}");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}
