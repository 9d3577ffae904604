//! The in-process half of `cargo xtask bench server`: drives a real
//! `coffre serve` (SQLite, local blobs) over HTTP on loopback and prints
//! what the service costs.
//!
//! ```text
//! server_bench --coffre PATH --work DIR [--deposits N] [--documents N] [--upload-mb N]
//! ```
//!
//! 1. sealed ~120 KB deposits per second (B-LT seals, 16 requests in flight);
//! 2. Coffre list latency (p50/p99) for a student with N documents;
//! 3. the server's RSS growth while one student uploads a large file.

#[path = "support/bench.rs"]
mod bench;
use coffre_print::sample;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::{rss_kb, Result};
use coffre_api::{DepositParams, DocumentKind, DocumentQuery, UploadParams};
use coffre_seal::{Certificate, Crl, Level, LocalTsa, SealConfig, SigningKey, UnixTime};
use futures::StreamExt;

struct Args {
    coffre: PathBuf,
    work: PathBuf,
    deposits: usize,
    documents: usize,
    upload_mb: u64,
}

fn args() -> Result<Args> {
    let mut a = Args {
        coffre: PathBuf::new(),
        work: PathBuf::new(),
        deposits: 2000,
        documents: 10_000,
        upload_mb: 1024,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--coffre" => a.coffre = value.into(),
            "--work" => a.work = value.into(),
            "--deposits" => a.deposits = value.parse()?,
            "--documents" => a.documents = value.parse()?,
            "--upload-mb" => a.upload_mb = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if a.coffre.as_os_str().is_empty() || a.work.as_os_str().is_empty() {
        return Err("usage: server_bench --coffre PATH --work DIR [--deposits N] [--documents N] [--upload-mb N]".into());
    }
    Ok(a)
}

fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    )
}

fn read_pem(path: &Path) -> Result<String> {
    Ok(std::fs::read_to_string(path)?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let a = args()?;
    let _ = std::fs::remove_dir_all(&a.work);
    std::fs::create_dir_all(&a.work)?;
    let data = a.work.join("data");
    let (mut server, url) = bench::start(&a.coffre, &data, &[])?;
    let pid = server.id();

    // The organisation, its keys, a roster.
    let keys = a.work.join("keys");
    let api_key =
        bench::organisation(&a.coffre, &data, &keys, "Université Bench", "bench.example")?;
    let client = coffre_api::Client::new(&url)?;
    let uni = client.with_token(&api_key);
    let mut roster = String::new();
    for i in 0..a.deposits {
        roster.push_str(&format!(
            "B{i:06},Nom{i},Prenom,2004-01-01,e{i}@bench.example\n"
        ));
    }
    let codes = uni.import_roster(roster).await?.created;

    // Seal the transcripts first (what the registrar's CLI does), B-LT with
    // the operator's time-stamps.
    let op = data.join("operator");
    let tsa_key = SigningKey::from_pem(&read_pem(&op.join("tsa.key.pem"))?)?;
    let mut tsa_chain = Certificate::from_pem_chain(&read_pem(&op.join("tsa.pem"))?)?;
    tsa_chain.extend(Certificate::from_pem_chain(&read_pem(&op.join("ca.pem"))?)?);
    let tsa = LocalTsa::new(tsa_key, tsa_chain, now)?;
    let seal_key = SigningKey::from_pem(&read_pem(&keys.join("seal.key.pem"))?)?;
    let mut chain = Certificate::from_pem_chain(&read_pem(&keys.join("seal.pem"))?)?;
    chain.extend(Certificate::from_pem_chain(&read_pem(
        &keys.join("chain.pem"),
    )?)?);
    let crls = vec![
        Crl::from_pem_or_der(&std::fs::read(op.join("ca.crl.pem"))?)?,
        Crl::from_pem_or_der(&std::fs::read(op.join("root.crl.pem"))?)?,
    ];
    let cfg = SealConfig {
        key: &seal_key,
        chain,
        level: Level::BLt,
        time: now(),
        timestamper: Some(&tsa),
        crls,
        certify: false,
        reason: None,
    };
    eprintln!("== sealing {} transcripts", a.deposits);
    let sealed: Vec<Vec<u8>> = (0..a.deposits)
        .map(|i| {
            coffre_seal::seal(
                &sample::transcript_pdf(i as u64, &format!("Prenom Nom{i}")),
                &cfg,
            )
        })
        .collect::<std::result::Result<_, _>>()?;
    let avg_kb = sealed.iter().map(Vec::len).sum::<usize>() / sealed.len().max(1) / 1024;

    // 1. Deposits over HTTP, 16 in flight.
    eprintln!("== depositing them");
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(sealed.into_iter().enumerate())
        .map(|(i, pdf)| {
            let uni = uni.clone();
            async move {
                let p = DepositParams {
                    student_number: format!("B{i:06}"),
                    kind: DocumentKind::Transcript,
                    title: "Relevé de notes".into(),
                    academic_year: "2025-2026".into(),
                    source_sha256: None,
                };
                uni.deposit(&p, pdf).await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        return Err(format!(
            "{failed} deposits failed: {:?}",
            results.iter().find(|r| r.is_err())
        )
        .into());
    }
    let deposits_per_s = a.deposits as f64 / elapsed;

    // 2. One student with many documents.
    eprintln!("== giving one student {} documents", a.documents);
    let first = &codes[0];
    let student = bench::finalise(
        &client,
        &data,
        &first.student_number,
        &first.activation_code,
        "bench@example.org",
        "benchmark passphrase",
    )
    .await?;
    let have = student.documents(&DocumentQuery::default()).await?.total as usize;
    let uploads: Vec<_> = futures::stream::iter(have..a.documents)
        .map(|i| {
            let student = student.clone();
            async move {
                let body = format!("%PDF-1.7\n% personal file {i}\n").into_bytes();
                student
                    .upload(
                        &UploadParams {
                            title: format!("Facture {i}"),
                            kind: Some(DocumentKind::Invoice),
                        },
                        body,
                    )
                    .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    if let Some(Err(e)) = uploads.iter().find(|r| r.is_err()) {
        return Err(format!("upload failed: {e}").into());
    }
    let mut samples = Vec::new();
    for i in 0..500 {
        let q = match i % 3 {
            0 => DocumentQuery::default(),
            1 => DocumentQuery {
                kind: Some(DocumentKind::Invoice),
                page: Some(1 + (i % 100) as u32),
                ..Default::default()
            },
            _ => DocumentQuery {
                q: Some(format!("facture {}", i * 7)),
                ..Default::default()
            },
        };
        let t0 = Instant::now();
        let page = student.documents(&q).await?;
        samples.push(t0.elapsed().as_secs_f64() * 1000.0);
        if i == 0 && page.total as usize != a.documents {
            return Err(
                format!("expected {} documents, listed {}", a.documents, page.total).into(),
            );
        }
    }
    samples.sort_by(f64::total_cmp);
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let (p50, p99) = (p(0.50), p(0.99));

    // 3. RSS while a large file streams in.
    eprintln!("== uploading {} MB", a.upload_mb);
    let baseline = rss_kb(pid);
    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                peak.fetch_max(rss_kb(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let chunk = 1 << 20;
    let total = a.upload_mb;
    let body = futures::stream::iter(0..total).map(move |i| {
        let mut v = vec![(i % 251) as u8; chunk];
        if i == 0 {
            v[..9].copy_from_slice(b"%PDF-1.7\n");
        }
        Ok::<_, std::io::Error>(bytes::Bytes::from(v))
    });
    let t0 = Instant::now();
    student
        .upload(
            &UploadParams {
                title: "Gros fichier".into(),
                kind: None,
            },
            reqwest::Body::wrap_stream(body),
        )
        .await?;
    let upload_s = t0.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    let growth_mb = (peak.load(Ordering::SeqCst).saturating_sub(baseline)) as f64 / 1024.0;

    server.kill()?;
    server.wait()?;
    println!(
        "deposits={} avg_kb={avg_kb} deposits_per_s={deposits_per_s:.1}",
        a.deposits
    );
    println!(
        "documents={} list_p50_ms={p50:.2} list_p99_ms={p99:.2}",
        a.documents
    );
    println!("upload_mb={total} upload_s={upload_s:.1} rss_growth_mb={growth_mb:.1}");
    Ok(())
}
