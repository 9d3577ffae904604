//! `cargo xtask bench seal`: documents per second for sealing and verifying
//! transcript-sized PDFs, ours beside poppler's pdfsig and pyHanko.
//!
//! Each figure counts only the work on the documents: ours and pyHanko's
//! run in one process each, in a loop over files already in memory; pdfsig
//! can only be driven as one process per file, so its figure includes the
//! process start-up, as it does for anyone who scripts it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::external::{provision, Scope};
use crate::{
    build_coffre, build_throughput, fresh_dir, generate_samples, output, pki_init, root, run,
    target_dir,
};

/// What the product needs: a registrar sealing a year's transcripts, a
/// server validating every deposit.
const TARGET_SEAL: f64 = 1500.0;
const TARGET_VERIFY: f64 = 3000.0;

pub fn seal(files: usize) -> Result<()> {
    let root = root()?;
    let tools = provision(&root, Scope::Validators)?;

    println!("== building coffre and the throughput example (release)");
    let coffre = build_coffre(&root, true)?;
    let throughput = build_throughput(&root, true)?;

    let bench = target_dir(&root).join("bench");
    fresh_dir(&bench)?;
    let pki = bench.join("pki");
    let unsigned = bench.join("unsigned");
    let sealed = bench.join("sealed");
    println!(
        "== making a PKI and {files} transcripts in {}",
        bench.display()
    );
    pki_init(&coffre, &pki)?;
    generate_samples(&throughput, &unsigned, files, false)?;

    let mut rows = Vec::new();

    println!("== coffre: seal, one thread, in process (B-B)");
    let ours_seal = docs_per_s(&mut throughput_seal(&throughput, &pki, &unsigned, &sealed))?;
    println!("== coffre: verify, one thread, in process");
    let ours_verify = docs_per_s(&mut throughput_verify(&throughput, &pki, &sealed))?;

    let sealed_lt = bench.join("sealed-b-lt");
    println!("== coffre: seal, one thread, in process (B-LT: local TSA, /DSS with CRLs)");
    let ours_seal_lt = docs_per_s(
        throughput_seal(&throughput, &pki, &unsigned, &sealed_lt)
            .args(["--level", "b-lt"])
            .arg("--tsa-key")
            .arg(pki.join("tsa.key.pem"))
            .arg("--tsa-cert")
            .arg(pki.join("tsa.pem"))
            .arg("--crl")
            .arg(pki.join("crl.pem"))
            .arg("--crl")
            .arg(pki.join("root.crl.pem")),
    )?;
    println!("== coffre: verify B-LT, one thread, in process");
    let ours_verify_lt = docs_per_s(&mut throughput_verify(&throughput, &pki, &sealed_lt))?;
    println!("== the floor of a B-LT verification: SHA-256 over the signed bytes, two P-256 verifications (ring)");
    let floor_lt = docs_per_s(Command::new(&throughput).arg("--floor").arg(&sealed_lt))?;

    let pdfsig = if tools.pdfsig {
        println!("== pdfsig: verify, one process per file");
        Some(pdfsig_verify(&bench, &pki, &sealed)?)
    } else {
        None
    };

    let (pyhanko_verify, pyhanko_seal) = match &tools.python {
        Some(python) => {
            let py = root.join("xtask").join("py");
            println!("== pyHanko: verify, one process looping over the files");
            let verify = docs_per_s(
                Command::new(python)
                    .arg(py.join("bench_verify.py"))
                    .arg("--trust")
                    .arg(pki.join("root.pem"))
                    .arg(&sealed),
            )?;
            println!("== pyHanko: seal, one process looping over the files");
            let seal = docs_per_s(
                Command::new(python)
                    .arg(py.join("bench_seal.py"))
                    .arg("--key")
                    .arg(pki.join("seal.key.pem"))
                    .arg("--cert")
                    .arg(pki.join("seal.pem"))
                    .arg("--chain")
                    .arg(pki.join("chain.pem"))
                    .arg(&unsigned)
                    .arg(bench.join("sealed-pyhanko")),
            )?;
            (Some(verify), Some(seal))
        }
        None => (None, None),
    };

    rows.push(Row::new(
        "seal",
        "coffre (in process)",
        Some(ours_seal),
        Some(TARGET_SEAL),
    ));
    rows.push(Row::new("seal", "pyHanko (in process)", pyhanko_seal, None));
    rows.push(Row::new(
        "seal",
        "coffre B-LT (in process)",
        Some(ours_seal_lt),
        Some(TARGET_SEAL),
    ));
    rows.push(Row::new(
        "verify",
        "coffre (in process)",
        Some(ours_verify),
        Some(TARGET_VERIFY),
    ));
    rows.push(Row::new(
        "verify",
        "coffre B-LT (in process)",
        Some(ours_verify_lt),
        Some(TARGET_VERIFY),
    ));
    rows.push(Row::new(
        "verify",
        "pdfsig (process per file)",
        pdfsig,
        None,
    ));
    rows.push(Row::new(
        "verify",
        "pyHanko (in process)",
        pyhanko_verify,
        None,
    ));

    rows.push(Row::new(
        "verify",
        "floor of B-LT (ring only)",
        Some(floor_lt),
        None,
    ));

    print!("{}", table(&rows, files));
    println!(
        "\nB-LT verify time over its floor: {:.2}x (target 1.5x or less); B-LT over B-B: {:.2}x",
        floor_lt / ours_verify_lt,
        ours_verify / ours_verify_lt
    );
    let ratios = [
        ("seal", ours_seal, "pyHanko", pyhanko_seal),
        ("verify", ours_verify, "pdfsig", pdfsig),
        ("verify", ours_verify, "pyHanko", pyhanko_verify),
    ];
    println!("\nratios (coffre / theirs):");
    for (task, ours, name, theirs) in ratios {
        match theirs {
            Some(theirs) if theirs > 0.0 => {
                println!("  {task:<6} coffre / {name:<8} {:>8.1}x", ours / theirs)
            }
            _ => println!("  {task:<6} coffre / {name:<8}  skipped ({name} not available)"),
        }
    }
    Ok(())
}

/// `cargo xtask bench server`: a real `coffre serve` (release, SQLite,
/// local blobs) driven over loopback HTTP by the `server_bench` example.
pub fn server() -> Result<()> {
    let root = root()?;
    let (coffre, bench) = build_with_example(&root, "server_bench")?;
    let work = target_dir(&root).join("bench-server");
    println!("== running (2,000 deposits, 10,000 documents, a 1 GB upload)");
    let out = output(
        Command::new(&bench)
            .arg("--coffre")
            .arg(&coffre)
            .arg("--work")
            .arg(&work),
    )?;
    let field = |name: &str| -> Result<f64> {
        out.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name}= in the output:\n{out}"))
    };
    let rows = [
        (
            "sealed deposits over HTTP (docs/s)",
            field("deposits_per_s")?,
            ">= 500",
            field("deposits_per_s")? >= 500.0,
        ),
        (
            "Coffre list p50 (ms), 10,000 documents",
            field("list_p50_ms")?,
            "",
            true,
        ),
        (
            "Coffre list p99 (ms), 10,000 documents",
            field("list_p99_ms")?,
            "<= 20",
            field("list_p99_ms")? <= 20.0,
        ),
        (
            "server RSS growth, 1 GB upload (MB)",
            field("rss_growth_mb")?,
            "<= 64",
            field("rss_growth_mb")? <= 64.0,
        ),
    ];
    println!("\ncoffre serve (release, SQLite, local blobs) on this machine\n");
    for (what, value, target, met) in rows {
        let verdict = match (target.is_empty(), met) {
            (true, _) => String::new(),
            (false, true) => format!("{target}  met"),
            (false, false) => format!("{target}  NOT MET"),
        };
        println!("  {what:<42} {value:>9.1}  {verdict}");
    }
    println!(
        "\n  ({} MB uploaded in {:.1} s)",
        field("upload_mb")?,
        field("upload_s")?
    );
    Ok(())
}

/// Release builds of `coffre` and of coffre-cli's example `name`.
fn build_with_example(root: &Path, name: &str) -> Result<(PathBuf, PathBuf)> {
    println!("== building coffre and the {name} example (release)");
    let coffre = build_coffre(root, true)?;
    let mut cmd = crate::cargo();
    cmd.current_dir(root)
        .args(["build", "--release", "-p", "coffre-cli", "--example", name]);
    run(&mut cmd).with_context(|| format!("building the {name} example"))?;
    let bench = target_dir(root)
        .join("release")
        .join("examples")
        .join(crate::exe(name));
    Ok((coffre, bench))
}

/// `cargo xtask bench abuse`: a release `coffre serve` under four kinds
/// of abuse while a student lists her documents every 100 ms.
/// Printable copies per second and their size (crates/print's example).
pub fn print() -> Result<()> {
    let root = root()?;
    println!("== building the print benchmark (release)");
    let status = crate::cargo()
        .current_dir(&root)
        .args([
            "run",
            "--release",
            "--locked",
            "-q",
            "-p",
            "coffre-print",
            "--example",
            "print_bench",
        ])
        .status()?;
    anyhow::ensure!(status.success(), "the print benchmark failed");
    Ok(())
}

pub fn abuse() -> Result<()> {
    let root = root()?;
    let (coffre, bench) = build_with_example(&root, "abuse_bench")?;
    let work = target_dir(&root).join("bench-abuse");
    println!("== running (about a minute)");
    let out = output(
        Command::new(&bench)
            .arg("--coffre")
            .arg(&coffre)
            .arg("--work")
            .arg(&work),
    )?;
    let field = |line: &str, name: &str| -> Result<String> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
            .with_context(|| format!("no {name}= in {line:?}"))
    };
    let num = |line: &str, name: &str| -> Result<f64> {
        field(line, name)?
            .parse()
            .with_context(|| format!("{name} in {line:?}"))
    };
    let first = out.lines().next().context("no output")?;
    let (start, fin) = (num(first, "start_rss_mb")?, num(first, "final_rss_mb")?);
    let verdict = |ok: bool| if ok { "met" } else { "NOT MET" };
    println!(
        "
coffre serve (release, SQLite) under abuse from loopback; a student lists every 100 ms
"
    );
    println!(
        "  {:<54} {:>9} {:>9} {:>8} {:>8} {:>7}",
        "phase", "peak MB", "after MB", "p50 ms", "p99 ms", "errors"
    );
    let mut all_met = true;
    for line in out.lines().filter(|l| l.starts_with("phase=")) {
        let name = line.split_once("name=").map_or("", |(_, n)| n);
        let (peak, p99, errors) = (
            num(line, "peak_rss_mb")?,
            num(line, "p99_ms")?,
            num(line, "student_errors")?,
        );
        let met = peak <= 300.0 && p99 <= 250.0 && errors == 0.0;
        all_met &= met;
        println!(
            "  {name:<54} {peak:>9.1} {:>9.1} {:>8.2} {p99:>8.2} {errors:>7}  {}",
            num(line, "after_rss_mb")?,
            num(line, "p50_ms")?,
            verdict(met)
        );
        println!(
            "      answered: {}",
            field(line, "answers")?.replace(',', ", ")
        );
    }
    let back = fin - start <= 50.0;
    println!(
        "
  RSS at start {start:.1} MB, at the end {fin:.1} MB: {:+.1} MB (target: within 50 MB, {})",
        fin - start,
        verdict(back)
    );
    println!("  targets per phase: peak RSS <= 300 MB, student p99 <= 250 ms, no error answer to the student");
    if let Some(e) = out
        .lines()
        .find_map(|l| l.strip_prefix("last_student_error="))
    {
        println!("  the student's last error: {e}");
    }
    if !(all_met && back) {
        println!("  some targets were NOT MET");
    }
    Ok(())
}

#[derive(Debug)]
struct Row {
    task: &'static str,
    tool: &'static str,
    docs_per_s: Option<f64>,
    target: Option<f64>,
}

impl Row {
    fn new(
        task: &'static str,
        tool: &'static str,
        docs_per_s: Option<f64>,
        target: Option<f64>,
    ) -> Row {
        Row {
            task,
            tool,
            docs_per_s,
            target,
        }
    }
}

fn table(rows: &[Row], files: usize) -> String {
    let mut s =
        format!("\n{files} transcripts of ~120 KB, ECDSA P-256 + SHA-256; B-B unless named\n\n");
    let _ = writeln!(s, "{:<7} {:<27} {:>10}  target", "task", "tool", "docs/s");
    let _ = writeln!(s, "{}", "-".repeat(60));
    for row in rows {
        let figure = row
            .docs_per_s
            .map_or_else(|| "skipped".to_owned(), |d| format!("{d:.1}"));
        let target = match (row.target, row.docs_per_s) {
            (Some(target), Some(d)) if d >= target => format!(">= {target:.0}  met"),
            (Some(target), _) => format!(">= {target:.0}  NOT MET"),
            (None, _) => String::new(),
        };
        let _ = writeln!(
            s,
            "{:<7} {:<27} {:>10}  {target}",
            row.task, row.tool, figure
        );
    }
    s
}

/// The throughput example sealing every PDF of `from` into `to` with the
/// PKI's seal key (B-B unless more arguments follow).
fn throughput_seal(throughput: &Path, pki: &Path, from: &Path, to: &Path) -> Command {
    let mut cmd = Command::new(throughput);
    cmd.arg("--seal")
        .arg(from)
        .arg(to)
        .arg("--key")
        .arg(pki.join("seal.key.pem"))
        .arg("--cert")
        .arg(pki.join("seal.pem"))
        .arg("--chain")
        .arg(pki.join("chain.pem"));
    cmd
}

/// The throughput example verifying every PDF of `dir` against the PKI's root.
fn throughput_verify(throughput: &Path, pki: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(throughput);
    cmd.arg("--verify")
        .arg(dir)
        .arg("--trust")
        .arg(pki.join("root.pem"));
    cmd
}

/// Runs a bench program and reads its `docs_per_s=<float>` line.
fn docs_per_s(cmd: &mut Command) -> Result<f64> {
    let out = output(cmd)?;
    parse_docs_per_s(&out)
        .with_context(|| format!("no docs_per_s=<number> line in the output:\n{out}"))
}

fn parse_docs_per_s(out: &str) -> Option<f64> {
    out.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("docs_per_s="))
        .and_then(|value| value.trim().parse().ok())
}

/// pdfsig over every file, one process each, trusting only our root through
/// a throwaway NSS database. Every file must come out valid and trusted.
fn pdfsig_verify(bench: &Path, pki: &Path, sealed: &Path) -> Result<f64> {
    let nss = bench.join("nss");
    fresh_dir(&nss)?;
    let db = format!("sql:{}", nss.display());
    run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db]))
        .context("creating the NSS database")?;
    run(Command::new("certutil")
        .args(["-A", "-n", "coffre-root", "-t", "C,C,C", "-d", &db, "-i"])
        .arg(pki.join("root.pem")))
    .context("adding our root to the NSS database")?;

    let files = pdfs(sealed)?;
    let start = Instant::now();
    for file in &files {
        let out = output(Command::new("pdfsig").args(["-nssdir", &db]).arg(file))?;
        if !(out.contains("Signature is Valid.") && out.contains("Certificate is Trusted.")) {
            bail!("pdfsig does not accept {}:\n{out}", file.display());
        }
    }
    Ok(files.len() as f64 / start.elapsed().as_secs_f64())
}

fn pdfs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "pdf"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no PDF in {}", dir.display());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_docs_per_s_line() {
        assert_eq!(
            parse_docs_per_s("warming up\ndocs_per_s=1234.5\n"),
            Some(1234.5)
        );
        assert_eq!(parse_docs_per_s("docs_per_s=1\ndocs_per_s=2"), Some(2.0));
        assert_eq!(parse_docs_per_s("docs_per_s=fast"), None);
        assert_eq!(parse_docs_per_s(""), None);
    }

    #[test]
    fn table_marks_targets() {
        let rows = [
            Row::new("seal", "coffre", Some(2000.0), Some(TARGET_SEAL)),
            Row::new("verify", "coffre", Some(10.0), Some(TARGET_VERIFY)),
            Row::new("verify", "pdfsig", None, None),
        ];
        let t = table(&rows, 3);
        assert!(t.contains("2000.0  >= 1500  met"), "{t}");
        assert!(t.contains(">= 3000  NOT MET"), "{t}");
        assert!(t.contains("skipped"), "{t}");
    }
}
