//! What the benchmark examples share: a `coffre serve` to drive, its RSS,
//! an organisation, a finalised student.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use coffre_api::{ChooseEmail, Complete, Identify, SafeChoice, VerifyEmail};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The resident memory of process `pid`, in KB.
pub fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// `coffre serve` on a free loopback port with `extra` arguments, once it
/// listens; its URL.
pub fn start(coffre: &Path, data: &Path, extra: &[&str]) -> Result<(Child, String)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut child = Command::new(coffre)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    for line in lines.by_ref() {
        if line?.contains("is listening") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Ok((child, format!("http://127.0.0.1:{port}")))
}

/// `coffre admin org create` beside the running server; the API key.
pub fn organisation(
    coffre: &Path,
    data: &Path,
    keys: &Path,
    name: &str,
    domain: &str,
) -> Result<String> {
    let out = Command::new(coffre)
        .args([
            "admin",
            "org",
            "create",
            "--name",
            name,
            "--domain",
            domain,
            "--data-dir",
        ])
        .arg(data)
        .arg("--out")
        .arg(keys)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout
        .lines()
        .find_map(|l| l.split("keep it secret): ").nth(1))
        .ok_or("no API key")?
        .trim()
        .to_owned())
}

/// Finalises a pre-created safe (the code read from the outbox) and
/// returns the student's client.
pub async fn finalise(
    client: &coffre_api::Client,
    data: &Path,
    student_number: &str,
    activation_code: &str,
    email: &str,
    password: &str,
) -> Result<coffre_api::Client> {
    let who = client
        .identify(&Identify {
            student_number: student_number.into(),
            activation_code: activation_code.into(),
        })
        .await?;
    let t = who.activation_token;
    client
        .choose_email(&ChooseEmail {
            activation_token: t.clone(),
            email: email.into(),
        })
        .await?;
    let code = std::fs::read_dir(data.join("outbox"))?
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter(|text| text.contains(&format!("To: {email}")))
        .find_map(|text| {
            text.find("code is: ")
                .map(|at| text[at + 9..at + 15].to_owned())
        })
        .ok_or("no e-mail code")?;
    client
        .verify_email(&VerifyEmail {
            activation_token: t.clone(),
            code,
        })
        .await?;
    let session = client
        .complete(&Complete {
            activation_token: t,
            safe: SafeChoice::New {
                password: password.into(),
            },
        })
        .await?;
    Ok(client.with_token(&session.token))
}
