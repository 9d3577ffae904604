//! The database: SQLite (embedded default, WAL) or PostgreSQL, through
//! sqlx's `Any` driver so that one code path serves both. SQL that must
//! differ between them sits in the two migration folders.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

impl Db {
    /// Opens (creating if needed) and migrates. `url` is `postgres://…` or
    /// `sqlite://PATH`; `None` means `DATA_DIR/coffre.db`.
    pub async fn open(url: Option<&str>, data_dir: &Path) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let url = match url {
            Some(u) => u.to_owned(),
            None => format!("sqlite://{}?mode=rwc", data_dir.join("coffre.db").display()),
        };
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("--database-url must be postgres://… or sqlite://…");
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            // One writer at a time anyway; readers share the WAL.
            options = options.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            });
        } else {
            options = options.max_connections(16);
        }
        let pool = options
            .connect(&url)
            .await
            .with_context(|| format!("connecting to the database ({})", redact(&url)))?;
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator
            .run(&pool)
            .await
            .context("migrating the database")?;
        Ok(Db { pool, backend })
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Reads a column, naming it in the error.
pub fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, sqlx::Error>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    sqlx::Row::try_get(row, name)
}
