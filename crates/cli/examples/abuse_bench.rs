//! The measuring half of `cargo xtask bench abuse`: a release
//! `coffre serve` under abuse from loopback, while a signed-in student
//! lists her documents every 100 ms.
//!
//! ```text
//! abuse_bench --coffre PATH --work DIR
//! ```
//!
//! Phases: (1) 1,000 sign-ins to unknown addresses over 100 connections;
//! (2) the same from 1,000 client addresses (named by `X-Forwarded-For`,
//! the server trusting 127.0.0.1 as its proxy), so that no per-client
//! limit helps and every one costs a password hash; (3) 2,000 idle
//! connections; (4) 300 requests with 1.9 MB fields. For each: the
//! server's peak RSS and its RSS after, the student's p50/p99 and errors,
//! and what the attacker was answered.

#[path = "support/bench.rs"]
mod bench;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench::{rss_kb, Result};
use coffre_api::{DocumentQuery, UploadParams};
use futures::StreamExt;

const PHASES: [&str; 4] = [
    "1,000 sign-ins to unknown addresses, 100 connections",
    "the same from 1,000 client addresses (trusted proxy)",
    "2,000 idle connections",
    "300 requests with 1.9 MB fields",
];

/// What the student saw, per phase (0: before any).
#[derive(Default)]
struct Seen {
    latencies: Vec<Vec<f64>>,
    errors: Vec<u64>,
    last_error: Option<String>,
}

async fn a_student(coffre: &Path, data: &Path, url: &str) -> Result<coffre_api::Client> {
    let api_key = bench::organisation(
        coffre,
        data,
        &data.with_file_name("keys"),
        "Université Abus",
        "abus.example",
    )?;
    let client = coffre_api::Client::new(url)?;
    let created = client
        .with_token(&api_key)
        .import_roster("A1,Roux,Léa,2004-01-01,lea@abus.example\n".into())
        .await?
        .created;
    let student = bench::finalise(
        &client,
        data,
        "A1",
        &created[0].activation_code,
        "lea@example.org",
        "abuse benchmark passphrase",
    )
    .await?;
    for i in 0..50 {
        student
            .upload(
                &UploadParams {
                    title: format!("Facture {i}"),
                    kind: None,
                },
                format!("%PDF-1.7\n% facture {i}\n").into_bytes(),
            )
            .await?;
    }
    Ok(student)
}

fn bucket(status: Result<u16>) -> String {
    match status {
        Ok(s) => s.to_string(),
        Err(_) => "cut".into(),
    }
}

async fn sign_ins(url: &str, spoofed: bool, answers: &Mutex<BTreeMap<String, u64>>) {
    let url = url.to_owned();
    futures::stream::iter(0..100usize)
        .for_each_concurrent(100, |c| {
            let url = url.clone();
            async move {
                let http = reqwest::Client::builder()
                    .no_proxy()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap_or_default();
                for r in 0..10usize {
                    let mut req =
                        http.post(format!("{url}/api/v1/session"))
                            .json(&serde_json::json!({
                                "email": format!("nobody-{c}-{r}@example.org"),
                                "password": "Summer2026!"
                            }));
                    if spoofed {
                        req = req.header("X-Forwarded-For", format!("198.18.{}.{}", c, r + 1));
                    }
                    let status = async {
                        let resp = req.send().await?;
                        let s = resp.status().as_u16();
                        let _ = resp.bytes().await;
                        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(s)
                    }
                    .await;
                    *answers
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(bucket(status))
                        .or_default() += 1;
                }
            }
        })
        .await;
}

async fn idle_connections(addr: &str, answers: &Mutex<BTreeMap<String, u64>>) -> Result<()> {
    let limit = coffre_server::net::raise_open_file_limit();
    if limit < 2300 {
        return Err(
            format!("the open-file limit is {limit}; 2,000 idle connections need more").into(),
        );
    }
    let mut held = Vec::new();
    for _ in 0..2000 {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => held.push(s),
            Err(_) => {
                *answers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry("refused".into())
                    .or_default() += 1
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(15)).await;
    let mut closed = 0u64;
    for s in &mut held {
        use tokio::io::AsyncReadExt;
        let mut b = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), s.read(&mut b)).await
        {
            closed += 1;
        }
    }
    let mut a = answers.lock().unwrap_or_else(|e| e.into_inner());
    *a.entry("closed_by_the_server_within_15_s".into())
        .or_default() += closed;
    *a.entry("still_open".into()).or_default() += held.len() as u64 - closed;
    Ok(())
}

async fn huge_fields(url: &str, answers: &Mutex<BTreeMap<String, u64>>) {
    let field = "9".repeat(1_900_000);
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_default();
    futures::stream::iter(0..300usize)
        .for_each_concurrent(20, |i| {
            let (http, field) = (http.clone(), &field);
            async move {
                let path = [
                    "/api/v1/activation/identify",
                    "/api/v1/account-status",
                    "/api/v1/session",
                ][i % 3];
                let body = serde_json::json!({
                    "student_number": field, "activation_code": "x",
                    "last_name": "Roux", "birth_date": "2004-01-01",
                    "email": field, "password": "x"
                });
                let status = async {
                    let resp = http.post(format!("{url}{path}")).json(&body).send().await?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(resp.status().as_u16())
                }
                .await;
                *answers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(bucket(status))
                    .or_default() += 1;
            }
        })
        .await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut it = std::env::args().skip(1);
    let (mut coffre, mut work) = (PathBuf::new(), PathBuf::new());
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--coffre" => coffre = value.into(),
            "--work" => work = value.into(),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if coffre.as_os_str().is_empty() || work.as_os_str().is_empty() {
        return Err("usage: abuse_bench --coffre PATH --work DIR".into());
    }
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let data = work.join("data");
    let (mut server, url) = bench::start(&coffre, &data, &["--trusted-proxy", "127.0.0.1"])?;
    let pid = server.id();
    let addr = url.trim_start_matches("http://").to_owned();
    let student = a_student(&coffre, &data, &url).await?;

    let phase = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let peaks: Arc<Vec<AtomicU64>> =
        Arc::new((0..=PHASES.len()).map(|_| AtomicU64::new(0)).collect());
    let sampler = {
        let (phase, stop, peaks) = (phase.clone(), stop.clone(), peaks.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                peaks[phase.load(Ordering::SeqCst)].fetch_max(rss_kb(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let seen = Arc::new(Mutex::new(Seen {
        latencies: vec![Vec::new(); PHASES.len() + 1],
        errors: vec![0; PHASES.len() + 1],
        last_error: None,
    }));
    let probe = {
        let (phase, stop, seen) = (phase.clone(), stop.clone(), seen.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                let p = phase.load(Ordering::SeqCst);
                let t0 = Instant::now();
                let r = student.documents(&DocumentQuery::default()).await;
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                match r {
                    Ok(page) if page.total == 50 => s.latencies[p].push(ms),
                    Ok(page) => {
                        s.errors[p] += 1;
                        s.last_error = Some(format!("listed {} documents, not 50", page.total));
                    }
                    Err(e) => {
                        s.errors[p] += 1;
                        s.last_error = Some(e.to_string());
                    }
                }
            }
        })
    };

    tokio::time::sleep(Duration::from_secs(3)).await;
    let start_kb = rss_kb(pid);
    let mut after = Vec::new();
    let mut answers = Vec::new();
    for (i, name) in PHASES.iter().enumerate() {
        eprintln!("== phase {}: {name}", i + 1);
        phase.store(i + 1, Ordering::SeqCst);
        let got = Mutex::new(BTreeMap::new());
        match i {
            0 => sign_ins(&url, false, &got).await,
            1 => sign_ins(&url, true, &got).await,
            2 => idle_connections(&addr, &got).await?,
            _ => huge_fields(&url, &got).await,
        }
        // The student goes on meanwhile; then the server settles.
        tokio::time::sleep(Duration::from_secs(3)).await;
        after.push(rss_kb(pid));
        answers.push(got.into_inner().unwrap_or_else(|e| e.into_inner()));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let final_kb = rss_kb(pid);
    stop.store(true, Ordering::SeqCst);
    let _ = probe.await;
    let _ = sampler.join();
    server.kill()?;
    server.wait()?;

    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    println!(
        "start_rss_mb={:.1} final_rss_mb={:.1}",
        start_kb as f64 / 1024.0,
        final_kb as f64 / 1024.0
    );
    for (i, name) in PHASES.iter().enumerate() {
        let mut l = seen.latencies[i + 1].clone();
        l.sort_by(f64::total_cmp);
        let q = |q: f64| {
            l.get(((l.len().max(1) - 1) as f64 * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        let told: Vec<String> = answers[i].iter().map(|(k, v)| format!("{k}:{v}")).collect();
        println!(
            "phase={} peak_rss_mb={:.1} after_rss_mb={:.1} p50_ms={:.2} p99_ms={:.2} samples={} student_errors={} answers={} name={name}",
            i + 1,
            peaks[i + 1].load(Ordering::SeqCst) as f64 / 1024.0,
            after[i] as f64 / 1024.0,
            q(0.5),
            q(0.99),
            l.len(),
            seen.errors[i + 1],
            told.join(","),
        );
    }
    if let Some(e) = &seen.last_error {
        println!("last_student_error={e:?}");
    }
    Ok(())
}
