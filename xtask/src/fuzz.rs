//! `cargo xtask fuzz`: libFuzzer on `coffre_seal::validate`, the function that
//! reads untrusted PDFs. The fuzz crate lives in fuzz/ with its own
//! workspace, so the main build never needs nightly features.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::{
    build_coffre, build_throughput, cargo, fresh_dir, generate_samples, pki_init, root, run,
    target_dir,
};

pub fn run_fuzz(seconds: u64) -> Result<()> {
    let root = root()?;
    ensure_cargo_fuzz()?;

    let corpus = root.join("fuzz").join("corpus").join("validate");
    if is_empty_dir(&corpus)? {
        println!("== seeding {}", corpus.display());
        seed_corpus(&root, &corpus)?;
    }

    println!("== fuzzing coffre_seal::validate for {seconds} s");
    // cargo-fuzz needs nightly flags (-Zsanitizer); RUSTC_BOOTSTRAP lets the
    // stable toolchain accept them, for this build only.
    run(cargo()
        .current_dir(root.join("fuzz"))
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", "validate", "--"])
        .arg(format!("-max_total_time={seconds}")))
    .context("fuzzing found a crash (see fuzz/artifacts/validate) or could not run")
}

fn ensure_cargo_fuzz() -> Result<()> {
    let installed = cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        println!("== installing cargo-fuzz");
        run(cargo().args(["install", "cargo-fuzz", "--locked"]))
            .context("installing cargo-fuzz")?;
    }
    Ok(())
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    if !dir.exists() {
        return Ok(true);
    }
    let mut entries = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    Ok(entries.next().is_none())
}

/// A few small PDFs, unsealed and sealed at B-B and B-LT, so the fuzzer
/// starts from inputs that reach deep into the parser and the CMS code.
fn seed_corpus(root: &Path, corpus: &Path) -> Result<()> {
    let coffre = build_coffre(root, false)?;
    let throughput = build_throughput(root, false)?;
    let work = target_dir(root).join("fuzz-seed");
    fresh_dir(&work)?;
    let pki = work.join("pki");
    pki_init(&coffre, &pki)?;

    fs::create_dir_all(corpus).with_context(|| format!("creating {}", corpus.display()))?;
    generate_samples(&throughput, corpus, 3, true)?;

    let pem = |name: &str| pki.join(name);
    for (level, pages) in [("b-b", 1), ("b-lt", 2)] {
        let input = corpus.join(format!("small-{pages}.pdf"));
        let output = corpus.join(format!("sealed-{level}.pdf"));
        let mut cmd = Command::new(&coffre);
        cmd.arg("seal")
            .arg("--key")
            .arg(pem("seal.key.pem"))
            .arg("--cert")
            .arg(pem("seal.pem"))
            .arg("--chain")
            .arg(pem("chain.pem"))
            .args(["--level", level]);
        if level != "b-b" {
            cmd.arg("--tsa-key")
                .arg(pem("tsa.key.pem"))
                .arg("--tsa-cert")
                .arg(pem("tsa.pem"))
                .arg("--crl")
                .arg(pem("crl.pem"))
                .arg("--crl")
                .arg(pem("root.crl.pem"));
        }
        run(cmd.arg("-o").arg(&output).arg(&input))
            .with_context(|| format!("sealing the seed {}", input.display()))?;
    }
    Ok(())
}
