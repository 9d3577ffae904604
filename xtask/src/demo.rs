//! `cargo xtask run`: until the server exists, a demo of what the organisation
//! side and an interlocutor do with `coffre`: make a PKI, seal a transcript,
//! verify it. Everything lands in target/demo; running it again redoes the
//! seal and verification with the same PKI.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{build_coffre, build_throughput, generate_samples, pki_init, root, run};

pub fn run_demo() -> Result<()> {
    let root = root()?;
    // Relative paths throughout, from the workspace root, so that the
    // commands printed at the end can be pasted as they are.
    let demo = Path::new("target/demo");
    let pki = demo.join("pki");
    let unsigned = demo.join("transcript.pdf");
    let sealed = demo.join("transcript-sealed.pdf");

    println!("== building coffre");
    let coffre = build_coffre(&root, false)?;
    let throughput = build_throughput(&root, false)?;
    std::env::set_current_dir(&root).with_context(|| format!("entering {}", root.display()))?;
    fs::create_dir_all(demo).with_context(|| format!("creating {}", demo.display()))?;

    println!("== making the demo PKI in {}", pki.display());
    pki_init(&coffre, &pki)?;

    println!("== writing a demo transcript to {}", unsigned.display());
    let scratch = demo.join("generated");
    generate_samples(&throughput, &scratch, 1, false)?;
    fs::rename(scratch.join("transcript-000.pdf"), &unsigned)
        .with_context(|| format!("moving the generated transcript to {}", unsigned.display()))?;
    fs::remove_dir_all(&scratch).with_context(|| format!("removing {}", scratch.display()))?;

    println!("== sealing it at level B-LT");
    if sealed.exists() {
        fs::remove_file(&sealed).with_context(|| format!("removing {}", sealed.display()))?;
    }
    let seal_args = seal_args(&pki, &unsigned, &sealed);
    run(Command::new(&coffre).args(&seal_args)).context("sealing the demo transcript")?;

    for lang in ["fr", "en"] {
        println!("== verifying it (--lang {lang})");
        run(Command::new(&coffre)
            .arg("verify")
            .arg("--trust")
            .arg(pki.join("root.pem"))
            .args(["--lang", lang])
            .arg(&sealed))
        .context("the demo seal did not verify")?;
    }

    let coffre = Path::new("target/debug").join(crate::exe("coffre"));
    let (coffre, pki, unsigned, sealed) = (
        coffre.display(),
        pki.display(),
        unsigned.display(),
        sealed.display(),
    );
    let seal = seal_args
        .iter()
        .map(|a| crate::quote(std::ffi::OsStr::new(a)))
        .collect::<Vec<_>>()
        .join(" ");
    println!("\nDemo files, from {}:", root.display());
    for (file, what) in [
        (
            format!("{pki}/"),
            "root, intermediate, seal and TSA certificates and keys; CRLs",
        ),
        (
            unsigned.to_string(),
            "the transcript as the registrar wrote it",
        ),
        (sealed.to_string(), "the same, sealed (PAdES B-LT)"),
    ] {
        println!("  {file:<36} {what}");
    }
    println!("\nTry:");
    for (command, what) in [
        (
            format!("{coffre} verify --trust {pki}/root.pem --lang en {sealed}"),
            "",
        ),
        (
            format!("{coffre} verify --trust {pki}/root.pem --json {sealed} {unsigned}"),
            "",
        ),
        (
            format!("{coffre} verify {sealed}"),
            "without the demo root: not trusted",
        ),
        (
            format!("pdfsig {sealed}"),
            "poppler's view, from its own trust store",
        ),
        (format!("{coffre} {seal}"), "seal again"),
    ] {
        println!("  {command}");
        if !what.is_empty() {
            println!("      ({what})");
        }
    }
    Ok(())
}

fn seal_args(pki: &Path, input: &Path, output: &Path) -> Vec<String> {
    let pem = |name: &str| pki.join(name).display().to_string();
    vec![
        "seal".into(),
        "--key".into(),
        pem("seal.key.pem"),
        "--cert".into(),
        pem("seal.pem"),
        "--chain".into(),
        pem("chain.pem"),
        "--level".into(),
        "b-lt".into(),
        "--tsa-key".into(),
        pem("tsa.key.pem"),
        "--tsa-cert".into(),
        pem("tsa.pem"),
        "--crl".into(),
        pem("crl.pem"),
        "--crl".into(),
        pem("root.crl.pem"),
        "-o".into(),
        output.display().to_string(),
        input.display().to_string(),
    ]
}
