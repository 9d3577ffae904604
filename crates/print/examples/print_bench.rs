//! `cargo xtask bench print`: printable copies of a sealed one-page
//! transcript per second on one core, and the copy's size, beside
//! poppler's `pdftocairo -pdf` rewriting the same original (the nearest
//! peer: a PDF read and written again) in the same run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use coffre_print::attestation::{self, Statement};
use coffre_print::{sample, CopyOptions, DocumentFacts, Lang, Qr};
use coffre_seal::pki::DemoPki;
use coffre_seal::{Level, LocalTsa, SealConfig, SigningKey, UnixTime, ValidationConfig};

const NOW: UnixTime = UnixTime(1_800_000_000);

fn main() {
    let copies: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let pki = DemoPki::generate("Université de Coffre-sur-Seine", NOW).unwrap();
    let tsa_key = SigningKey::from_pem(&pki.tsa_key.to_pem()).unwrap();
    let tsa = LocalTsa::new(tsa_key, pki.tsa_chain(), || NOW).unwrap();
    let original = coffre_seal::seal(
        &sample::transcript_pdf(1, "Camille Dupont"),
        &SealConfig {
            key: &pki.seal_key,
            chain: pki.seal_chain(),
            level: Level::BLt,
            time: NOW,
            timestamper: Some(&tsa),
            crls: vec![pki.crl.clone(), pki.root_crl.clone()],
            certify: false,
            reason: None,
        },
    )
    .unwrap();
    let (key, cert) = pki.attestation(NOW).unwrap();
    let student = "Łukasz Żółć 王小明";
    let text = attestation::sign(
        &Statement {
            issuer: "Université de Coffre-sur-Seine".into(),
            student: student.into(),
            title: "Relevé de notes / Transcript".into(),
            kind: "transcript".into(),
            year: Some("2025-2026".into()),
            sha256: coffre_seal::sha256(&original),
            deposited_at: NOW,
            document_id: "0123456789abcdef0123456789abcdef".into(),
            issued_at: NOW,
        },
        &key,
        &cert,
        "https://coffre.example",
    )
    .unwrap();
    let cfg = ValidationConfig::new(
        vec![pki.root.clone()],
        vec![pki.crl.clone(), pki.root_crl.clone()],
        NOW,
    );
    let options = CopyOptions {
        lang: Lang::Fr,
        printed_at: NOW,
        facts: DocumentFacts {
            title: Some("Relevé de notes / Transcript".into()),
            kind: Some("transcript".into()),
            year: Some("2025-2026".into()),
            student: Some(student.into()),
            issuer: Some("Université de Coffre-sur-Seine".into()),
        },
        qr: Qr::Attestation(text),
        revocation_date: Some(NOW),
    };
    // Warm up (fonts parsed once per process), then one core, in a row:
    // each copy validates the original too, as `coffre print` does.
    let report = coffre_seal::validate(&original, &cfg).unwrap();
    let mut size = coffre_print::copy(&original, &report, &options)
        .unwrap()
        .len();
    let started = Instant::now();
    for _ in 0..copies {
        let report = coffre_seal::validate(&original, &cfg).unwrap();
        size = coffre_print::copy(&original, &report, &options)
            .unwrap()
            .len();
    }
    let ours = copies as f64 / started.elapsed().as_secs_f64();

    let dir = tempfile::TempDir::new().unwrap();
    let input = dir.path().join("original.pdf");
    std::fs::write(&input, &original).unwrap();
    let peer_runs = (copies / 4).max(10);
    let started = Instant::now();
    let mut peer_ok = true;
    for i in 0..peer_runs {
        let out = dir.path().join(format!("cairo-{}.pdf", i % 2));
        peer_ok &= std::process::Command::new("pdftocairo")
            .arg("-pdf")
            .arg(&input)
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success());
    }
    let peer = peer_runs as f64 / started.elapsed().as_secs_f64();

    let limit = 2 * original.len() + 60 * 1024;
    println!("original: {} bytes (sealed B-LT, one page)", original.len());
    println!(
        "coffre print: {ours:.1} copies/s on one core (target >= 50: {}), copy {size} bytes (target <= {limit}: {})",
        if ours >= 50.0 { "met" } else { "NOT MET" },
        if size <= limit { "met" } else { "NOT MET" },
    );
    if peer_ok {
        println!("pdftocairo -pdf (rewrites the same original, no certificate): {peer:.1} files/s");
        println!("ratio coffre/pdftocairo: {:.2}", ours / peer);
    } else {
        println!("pdftocairo: not installed (poppler-utils), no peer to compare with");
    }
}
