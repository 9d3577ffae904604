//! The service's integration suite: the real server on a loopback port,
//! driven through coffre-api's client, on every storage combination this
//! machine offers (SQLite + local folder always; PostgreSQL and an S3
//! server when `cargo xtask test` started them).

// Test helpers unwrap: a failure there is a test failure with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../seal/tests/support/sample.rs"]
mod sample;

mod data;
mod journey;
mod mail;
mod safe;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use coffre_seal::{Level, SealConfig, UnixTime};
use coffre_server::orgs::NewOrganisation;
use coffre_server::{AppState, ServerConfig};
use tempfile::TempDir;

/// A storage combination to run a suite on: a database (SQLite when
/// `None`) and a blob store (a local folder when `None`).
#[derive(Clone, Debug)]
pub struct Storage {
    pub postgres: Option<String>,
    pub s3: Option<String>,
}

/// Every combination available here: SQLite or PostgreSQL, each with a
/// local folder or an S3 server. With COFFRE_REQUIRE_EXTERNAL=1 a missing
/// PostgreSQL or S3 server is a failure, not a skip.
pub fn storages() -> Vec<Storage> {
    let postgres = std::env::var("COFFRE_TEST_POSTGRES_URL").ok();
    let s3 = std::env::var("COFFRE_TEST_S3_ENDPOINT").ok();
    if (postgres.is_none() || s3.is_none())
        && std::env::var("COFFRE_REQUIRE_EXTERNAL").as_deref() == Ok("1")
    {
        panic!("COFFRE_TEST_POSTGRES_URL and COFFRE_TEST_S3_ENDPOINT are required (run through cargo xtask test)");
    }
    if postgres.is_none() || s3.is_none() {
        eprintln!("skipped: PostgreSQL and S3 runs (no COFFRE_TEST_POSTGRES_URL / COFFRE_TEST_S3_ENDPOINT)");
    }
    let mut out = Vec::new();
    for pg in [None, postgres.clone()] {
        for blobs in [None, s3.clone()] {
            if (pg.is_none() || postgres.is_some()) && (blobs.is_none() || s3.is_some()) {
                out.push(Storage {
                    postgres: pg.clone(),
                    s3: blobs.clone(),
                });
            }
        }
    }
    out.dedup_by(|a, b| a.postgres == b.postgres && a.s3 == b.s3);
    out
}

/// A running server with a clock the test moves.
#[allow(missing_debug_implementations)]
pub struct TestServer {
    pub state: AppState,
    pub addr: SocketAddr,
    pub now: Arc<AtomicI64>,
    pub data_dir: PathBuf,
    _tmp: TempDir,
}

/// 2027-01-15T08:00:00Z.
pub const START: i64 = 1_800_000_000;

impl TestServer {
    pub async fn start(storage: &Storage, name: &str) -> TestServer {
        Self::start_with_smtp(storage, name, None).await
    }

    /// With e-mail sent to `smtp_url` instead of the outbox.
    pub async fn start_with_smtp(
        storage: &Storage,
        name: &str,
        smtp_url: Option<String>,
    ) -> TestServer {
        let tmp = TempDir::new().unwrap();
        let data_dir = tmp.path().join("data");
        let unique = format!("{name}_{}", std::process::id());
        let database_url = match &storage.postgres {
            None => None,
            Some(postgres) => {
                let db = format!("t_{unique}_{}", storage.s3.is_some() as u8).to_lowercase();
                create_postgres_db(postgres, &db).await;
                let base = postgres.rsplit_once('/').unwrap().0;
                Some(format!("{base}/{db}"))
            }
        };
        let blob_url = match &storage.s3 {
            None => None,
            Some(s3) => {
                let bucket = format!("b-{unique}-{}", storage.postgres.is_some() as u8)
                    .to_lowercase()
                    .replace('_', "-");
                create_bucket(s3, &bucket).await;
                Some(format!(
                    "s3://{bucket}?endpoint={s3}&allow_http=true&region=us-east-1&access_key_id=test&secret_access_key=test"
                ))
            }
        };
        let config = ServerConfig {
            data_dir: data_dir.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url,
            blob_url,
            smtp_url,
            orphan_grace: 3600,
        };
        let now = Arc::new(AtomicI64::new(START));
        let clock_now = now.clone();
        let state = AppState::open(
            &config,
            Arc::new(move || UnixTime(clock_now.load(Ordering::SeqCst))),
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = coffre_server::router(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer {
            state,
            addr,
            now,
            data_dir,
            _tmp: tmp,
        }
    }

    /// An organisation with one domain, its API client, and `roster`
    /// imported.
    pub async fn university(
        &self,
        name: &str,
        domain: &str,
        roster: &str,
    ) -> (
        NewOrganisation,
        coffre_api::Client,
        coffre_api::RosterImport,
    ) {
        let org = coffre_server::orgs::create(&self.state, name, &[domain.into()])
            .await
            .unwrap();
        let uni = self.client().with_token(&org.api_key);
        let imported = uni.import_roster(roster.into()).await.unwrap();
        (org, uni, imported)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn client(&self) -> coffre_api::Client {
        coffre_api::Client::new(&self.url()).unwrap()
    }

    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }

    /// The 6-digit code in the newest e-mail to `to` in the outbox.
    pub fn emailed_code(&self, to: &str) -> String {
        let outbox = self.data_dir.join("outbox");
        let mut newest: Option<(std::time::SystemTime, String)> = None;
        for entry in std::fs::read_dir(&outbox).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            if !text.contains(&format!("To: {to}")) {
                continue;
            }
            let modified = path.metadata().unwrap().modified().unwrap();
            if newest.as_ref().is_none_or(|(t, _)| modified >= *t) {
                newest = Some((modified, text));
            }
        }
        let text = newest
            .unwrap_or_else(|| panic!("no e-mail to {to} in {}", outbox.display()))
            .1;
        let at = text.find("code is: ").expect("a code line") + "code is: ".len();
        text[at..at + 6].to_owned()
    }

    /// Seals `pdf` with the organisation's key, B-LT, time-stamped by the
    /// operator's TSA.
    pub fn seal(&self, org: &NewOrganisation, pdf: &[u8]) -> Vec<u8> {
        let mut chain = vec![org.seal_cert.clone()];
        chain.extend(org.chain.iter().cloned());
        coffre_seal::seal(
            pdf,
            &SealConfig {
                key: &org.seal_key,
                chain,
                level: Level::BLt,
                time: (self.state.clock)(),
                timestamper: Some(&self.state.operator.tsa),
                crls: self.state.operator.crls().to_vec(),
                certify: false,
                reason: None,
            },
        )
        .unwrap()
    }
}

async fn create_postgres_db(url: &str, name: &str) {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    pool.execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await
        .unwrap();
    pool.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
}

async fn create_bucket(endpoint: &str, bucket: &str) {
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "creating bucket {bucket}: {}",
        resp.status()
    );
}

pub fn transcript(seed: u64, name: &str) -> Vec<u8> {
    sample::transcript_pdf(seed, name)
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}
