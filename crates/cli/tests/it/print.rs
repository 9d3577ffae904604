//! `coffre print` and `coffre check-copy` against a real `coffre serve`:
//! a deposited transcript printed with its attestation, its QR code read
//! back from a 150 dpi rendering, and checked offline.

use std::process::Command;

use coffre_api::{DepositParams, DocumentKind};

use crate::{coffre, printed, run, run_ok, Service};

fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("COFFRE_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
            "{name} is required (COFFRE_REQUIRE_EXTERNAL=1)"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

#[test]
fn a_printed_copy_checks_offline_from_its_text_and_its_scan() {
    let svc = Service::start("Université de Coffre-sur-Seine", "coffre-sur-seine.example");
    let dir = svc.tmp.path();
    let roster = dir.join("roster.csv");
    std::fs::write(
        &roster,
        "S1,Żółć,Łukasz,2004-01-01,s1@coffre-sur-seine.example\n",
    )
    .unwrap();
    run_ok(&mut svc.org(&["import-roster", roster.to_str().unwrap()]));
    let codes = std::fs::read_to_string(dir.join("roster-codes.csv")).unwrap();
    let code = codes
        .lines()
        .find(|l| l.starts_with("S1,"))
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_owned();

    // The university seals and deposits a transcript.
    let plain = crate::write_transcript(dir, "plain.pdf");
    let original = dir.join("original.pdf");
    run_ok(
        coffre()
            .arg("seal")
            .arg("--key")
            .arg(svc.keys.join("seal.key.pem"))
            .arg("--cert")
            .arg(svc.keys.join("seal.pem"))
            .arg("--chain")
            .arg(svc.keys.join("chain.pem"))
            .args(["--level", "b-b", "-o"])
            .arg(&original)
            .arg(&plain),
    );
    let uni = coffre_api::Client::new(&svc.url)
        .unwrap()
        .with_token(&svc.key);
    let anon = coffre_api::Client::new(&svc.url).unwrap();
    let (token, trust) = svc.rt.block_on(async {
        uni.deposit(
            &DepositParams {
                student_number: "S1".into(),
                kind: DocumentKind::Transcript,
                title: "Relevé de notes / Transcript".into(),
                academic_year: "2025-2026".into(),
                source_sha256: None,
            },
            std::fs::read(&original).unwrap(),
        )
        .await
        .unwrap();
        let session = crate::finalise(
            &anon,
            &svc.data,
            "S1",
            code,
            "lukasz@example.org",
            "print passphrase",
        )
        .await;
        (session.token, anon.trust().await.unwrap())
    });
    let trust_file = dir.join("trust.json");
    std::fs::write(&trust_file, serde_json::to_vec(&trust).unwrap()).unwrap();

    // Printed with the attestation fetched from the safe.
    let copy = dir.join("copy.pdf");
    let out = run_ok(
        coffre()
            .arg("print")
            .arg(&original)
            .arg("--trust")
            .arg(&trust_file)
            .args(["--server", &svc.url, "--lang", "en", "-o"])
            .arg(&copy)
            .env("COFFRE_TOKEN", &token),
    );
    assert!(printed(&out).contains("TOTAL_PASSED"), "{}", printed(&out));
    // A copy is never an original.
    let root = dir.join("root.pem");
    std::fs::write(&root, &trust.anchors[0]).unwrap();
    let verify = run(coffre().arg("verify").arg("--trust").arg(&root).arg(&copy));
    assert!(
        printed(&verify).contains("NO_SIGNATURE"),
        "{}",
        printed(&verify)
    );

    let (Some(pdftoppm), Some(zbarimg)) = (tool("pdftoppm"), tool("zbarimg")) else {
        return;
    };
    run_ok(
        Command::new(pdftoppm)
            .args(["-r", "150", "-png", "-f", "2", "-l", "2"])
            .arg(&copy)
            .arg(dir.join("page")),
    );
    let png = dir.join("page-2.png");
    let text =
        String::from_utf8(run_ok(Command::new(zbarimg).args(["-q", "--raw"]).arg(&png)).stdout)
            .unwrap()
            .trim_end()
            .to_owned();
    assert!(text.starts_with(&svc.url) && text.contains("/c/"), "{text}");

    // The text, and the scan, check offline with the trust material.
    for source in [
        vec![text.clone()],
        vec!["--image".to_owned(), png.display().to_string()],
    ] {
        let out = run_ok(
            coffre()
                .arg("check-copy")
                .arg("--trust")
                .arg(&trust_file)
                .args(["--original", original.to_str().unwrap()])
                .args(&source),
        );
        let said = printed(&out);
        assert!(said.contains("ATTESTATION VÉRIFIÉE"), "{said}");
        assert!(
            said.contains("Łukasz Żółć") && said.contains("Université de Coffre-sur-Seine"),
            "{said}"
        );
    }
    // One character changed.
    let at = text.len() - 20;
    let mut changed = text.clone();
    let c = if &text[at..=at] == "A" { "B" } else { "A" };
    changed.replace_range(at..=at, c);
    let out = run(coffre()
        .arg("check-copy")
        .arg("--trust")
        .arg(&trust_file)
        .args(["--lang", "en"])
        .arg(&changed));
    assert_eq!(out.status.code(), Some(1));
    assert!(printed(&out).contains("NOT VERIFIED"), "{}", printed(&out));
    // Another root.
    let other = crate::Pki::init();
    let out = run(coffre()
        .arg("check-copy")
        .arg("--trust")
        .arg(other.file("root.pem"))
        .args(["--lang", "en"])
        .arg(&text));
    assert_eq!(out.status.code(), Some(1));
    assert!(printed(&out).contains("NOT VERIFIED"), "{}", printed(&out));
    // Another document.
    let out = run(coffre()
        .arg("check-copy")
        .arg("--trust")
        .arg(&trust_file)
        .args(["--lang", "en", "--original", plain.to_str().unwrap()])
        .arg(&text));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        printed(&out).contains("another document"),
        "{}",
        printed(&out)
    );
    // Printing another document with this attestation is refused.
    let att = dir.join("attestation.txt");
    std::fs::write(&att, &text).unwrap();
    let out = run(coffre()
        .arg("print")
        .arg(&plain)
        .arg("--attestation")
        .arg(&att)
        .arg("-o")
        .arg(dir.join("x.pdf")));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another document"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
