//! The service's integration suite: the real server on a loopback port,
//! driven through coffre-api's client, on every storage combination this
//! machine offers (SQLite + local folder always; PostgreSQL and an S3
//! server when `cargo xtask test` started them).

// Test helpers unwrap: a failure there is a test failure with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coffre_print::sample;

mod copies;
mod data;
mod journey;
mod mail;
mod safe;
mod security;

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
        let mut config = config_for(storage, &tmp, name).await;
        config.smtp_url = smtp_url;
        Self::start_with_config(config, tmp).await
    }

    /// With `config` as given (its data directory inside `tmp`).
    pub async fn start_with_config(config: ServerConfig, tmp: TempDir) -> TestServer {
        let data_dir = config.data_dir.clone();
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
        let served = state.clone();
        tokio::spawn(async move {
            coffre_server::serve_on(served, listener, &config, std::future::pending())
                .await
                .unwrap()
        });
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

    /// Every e-mail to `to` in the outbox, oldest first.
    pub fn emails_to(&self, to: &str) -> Vec<String> {
        let outbox = self.data_dir.join("outbox");
        let mut found: Vec<(std::time::SystemTime, String)> = Vec::new();
        for entry in std::fs::read_dir(&outbox).unwrap() {
            let path = entry.unwrap().path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if !text.contains(&format!("To: {to}")) {
                continue;
            }
            found.push((
                path.metadata().unwrap().modified().unwrap(),
                decode_body(&text),
            ));
        }
        found.sort_by_key(|(t, _)| *t);
        found.into_iter().map(|(_, t)| t).collect()
    }

    /// Waits (up to 10 s: some e-mails leave after the answer) until `to`
    /// has `count` e-mails, and returns the newest.
    pub async fn nth_email(&self, to: &str, count: usize) -> String {
        for _ in 0..200 {
            let mails = self.emails_to(to);
            if mails.len() >= count {
                return mails[count - 1].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no e-mail number {count} to {to}: {:?}", self.emails_to(to));
    }

    /// The 6-digit code in the newest e-mail to `to` in the outbox.
    pub fn emailed_code(&self, to: &str) -> String {
        let text = self
            .emails_to(to)
            .pop()
            .unwrap_or_else(|| panic!("no e-mail to {to}"));
        code_in(&text)
    }

    /// The code in e-mail number `count` to `to`, once it has arrived.
    pub async fn wait_for_code(&self, to: &str, count: usize) -> String {
        code_in(&self.nth_email(to, count).await)
    }

    /// The code of the first e-mail with one among those to `to` after the
    /// first `since`, once it has arrived (others may arrive meanwhile).
    pub async fn wait_for_new_code(&self, to: &str, since: usize) -> String {
        for _ in 0..200 {
            if let Some(m) = self
                .emails_to(to)
                .iter()
                .skip(since)
                .find(|m| m.contains("code is: "))
            {
                return code_in(m);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no new code to {to}: {:?}", self.emails_to(to));
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

/// The configuration of a test server on `storage` (a fresh database and
/// bucket named after `name`), its data in `tmp`.
pub async fn config_for(storage: &Storage, tmp: &TempDir, name: &str) -> ServerConfig {
    let data_dir = tmp.path().join("data");
    let unique = format!("{name}_{}", std::process::id());
    let database_url = match &storage.postgres {
        None => None,
        Some(postgres) => {
            let db = format!("t_{unique}_{}", storage.s3.is_some() as u8)
                .to_lowercase()
                .replace('-', "_");
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
    let mut config = ServerConfig::new(data_dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = database_url;
    config.blob_url = blob_url;
    // Tests name their clients with X-Forwarded-For.
    config.trusted_proxies = vec!["127.0.0.1".into()];
    config
}

fn code_in(text: &str) -> String {
    let at = text.find("code is: ").expect("a code line") + "code is: ".len();
    text[at..at + 6].to_owned()
}

/// An .eml's body as text (lettre writes non-ASCII bodies as
/// quoted-printable or base64).
fn decode_body(eml: &str) -> String {
    let (head, body) = eml.split_once("\r\n\r\n").unwrap_or((eml, ""));
    if head.contains("Content-Transfer-Encoding: quoted-printable") {
        let joined = body.replace("=\r\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        return format!("{head}\r\n\r\n{}", String::from_utf8_lossy(&out));
    }
    if head.contains("Content-Transfer-Encoding: base64") {
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(bytes) = base64_decode(&clean) {
            return format!("{head}\r\n\r\n{}", String::from_utf8_lossy(&bytes));
        }
    }
    eml.to_owned()
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        buf = buf << 6 | ALPHABET.iter().position(|a| *a == c)? as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
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
