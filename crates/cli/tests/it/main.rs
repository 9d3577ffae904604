//! Integration tests of the `coffre` binary: one test binary for the crate
//! (CONVENTIONS.md), one module per area, shared helpers here.

// Test code: a panic with a message is how a helper reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coffre_print::sample;

mod cli;
mod crash;
mod interop;
mod org;
mod print;
mod schemathesis;
mod security;
mod tsa_http;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The `coffre` binary built for these tests.
pub fn coffre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_coffre"))
}

/// Runs a command, panicking with everything it printed unless it exits 0.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "`{}` failed ({}):\n{}",
        show(cmd),
        out.status,
        printed(&out)
    );
    out
}

/// Runs a command to completion, whatever its exit status.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not start `{}`: {e}", show(cmd)))
}

/// Standard output then standard error, for assertion messages.
pub fn printed(out: &Output) -> String {
    format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A test PKI made by `coffre pki init` in a temporary directory.
#[derive(Debug)]
pub struct Pki {
    _tmp: TempDir,
    dir: PathBuf,
}

impl Pki {
    pub fn init() -> Pki {
        let tmp = TempDir::new().expect("temporary directory");
        let dir = tmp.path().join("pki");
        run_ok(coffre().args(["pki", "init"]).arg(&dir));
        Pki { _tmp: tmp, dir }
    }

    /// A file of the PKI directory: `root.pem`, `seal.key.pem`, `crl.pem`…
    pub fn file(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        assert!(path.is_file(), "`coffre pki init` wrote no {name}");
        path
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Seals `input` into `output` with the organisation seal key, at
    /// `level` (b-b, b-t or b-lt), with the PKI's TSA and CRLs as needed.
    pub fn seal(&self, level: &str, input: &Path, output: &Path) {
        let mut cmd = coffre();
        cmd.arg("seal")
            .arg("--key")
            .arg(self.file("seal.key.pem"))
            .arg("--cert")
            .arg(self.file("seal.pem"))
            .arg("--chain")
            .arg(self.file("chain.pem"))
            .args(["--level", level]);
        if level != "b-b" {
            cmd.arg("--tsa-key")
                .arg(self.file("tsa.key.pem"))
                .arg("--tsa-cert")
                .arg(self.file("tsa.pem"));
        }
        if level == "b-lt" {
            cmd.arg("--crl")
                .arg(self.file("crl.pem"))
                .arg("--crl")
                .arg(self.file("root.crl.pem"));
        }
        run_ok(cmd.arg("-o").arg(output).arg(input));
    }
}

/// Writes a ~120 KB sample transcript to `dir/name` and returns its path.
pub fn write_transcript(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, sample::transcript_pdf(7, "Camille Dupont")).expect("write sample");
    path
}

/// A copy of `pdf` with one byte of the page content changed (same length,
/// so offsets stay valid): what a forger editing a grade would do.
pub fn tampered(pdf: &[u8]) -> Vec<u8> {
    let needle = b"Transcript) Tj";
    let at = pdf
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the sample's title is in the file");
    let mut out = pdf.to_vec();
    out[at + 9] = b'x';
    out
}

// ---- A running `coffre serve` ----

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_server(data: &Path, port: u16) -> Child {
    coffre()
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--orphan-grace",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub async fn wait_ready(url: &str) {
    let client = coffre_api::Client::new(url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.trust().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A student finalises a new safe as the app would: identify, a personal
/// address, the code e-mailed to it (from `data`'s outbox), a password.
pub async fn finalise(
    anon: &coffre_api::Client,
    data: &Path,
    number: &str,
    activation_code: String,
    email: &str,
    password: &str,
) -> coffre_api::Session {
    use coffre_api::{ChooseEmail, Complete, Identify, SafeChoice, VerifyEmail};
    let who = anon
        .identify(&Identify {
            student_number: number.into(),
            activation_code,
        })
        .await
        .unwrap();
    let t = who.activation_token;
    anon.choose_email(&ChooseEmail {
        activation_token: t.clone(),
        email: email.into(),
    })
    .await
    .unwrap();
    let code = emailed_code(data, email);
    anon.verify_email(&VerifyEmail {
        activation_token: t.clone(),
        code,
    })
    .await
    .unwrap();
    anon.complete(&Complete {
        activation_token: t,
        safe: SafeChoice::New {
            password: password.into(),
        },
    })
    .await
    .unwrap()
}

pub fn emailed_code(data: &Path, to: &str) -> String {
    let mut texts: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.metadata().unwrap().modified().unwrap(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .filter(|(_, t)| t.contains(&format!("To: {to}")))
        .collect();
    texts.sort();
    let text = &texts.last().expect("an e-mail").1;
    let at = text.find("code is: ").unwrap() + 9;
    text[at..at + 6].to_owned()
}

/// A `coffre serve` on a free loopback port with one organisation created
/// by `coffre admin org create`; the server is killed when dropped.
#[allow(missing_debug_implementations)]
pub struct Service {
    pub tmp: TempDir,
    pub data: PathBuf,
    pub url: String,
    pub port: u16,
    /// The organisation's API key and its seal files (seal.key.pem, seal.pem, chain.pem).
    pub key: String,
    pub keys: PathBuf,
    pub server: Child,
    pub rt: tokio::runtime::Runtime,
}

impl Service {
    pub fn start(org: &str, domain: &str) -> Service {
        let tmp = TempDir::new().unwrap();
        let data = tmp.path().join("data");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let server = start_server(&data, port);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(wait_ready(&url));
        let keys = tmp.path().join("keys");
        let out = run_ok(
            coffre()
                .args([
                    "admin",
                    "org",
                    "create",
                    "--name",
                    org,
                    "--domain",
                    domain,
                    "--data-dir",
                ])
                .arg(&data)
                .arg("--out")
                .arg(&keys),
        );
        let key = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .find_map(|l| {
                l.split("keep it secret): ")
                    .nth(1)
                    .map(|k| k.trim().to_owned())
            })
            .expect("the API key is printed");
        Service {
            tmp,
            data,
            url,
            port,
            key,
            keys,
            server,
            rt,
        }
    }

    /// `coffre org --server URL …` with the API key in the environment.
    pub fn org(&self, args: &[&str]) -> Command {
        let mut cmd = coffre();
        cmd.args(["org", "--server", &self.url])
            .env("COFFRE_ORG_API_KEY", &self.key)
            .args(args);
        cmd
    }

    /// `coffre org deposit --manifest M` with the organisation's seal files.
    pub fn deposit(&self, manifest: &Path, extra: &[&str]) -> Command {
        let mut cmd = self.org(&["deposit", "--manifest", manifest.to_str().unwrap()]);
        cmd.args(extra)
            .arg("--key")
            .arg(self.keys.join("seal.key.pem"))
            .arg("--cert")
            .arg(self.keys.join("seal.pem"))
            .arg("--chain")
            .arg(self.keys.join("chain.pem"));
        cmd
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
