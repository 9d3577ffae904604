//! `coffre org deposit`: seal every document of a manifest locally (with
//! the server's time-stamps) and deposit it, in parallel, with progress, a
//! per-row report, and idempotence: an original already deposited for its
//! student is skipped, so an interrupted run is finished by running it
//! again.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use coffre_api::{Client, DepositParams, DocumentKind};
use coffre_seal::{Certificate, Crl, Level, SealConfig, SigningKey};
use futures::StreamExt;
use rayon::prelude::*;

use crate::files;
use crate::seal_cmd::HttpTsa;

#[derive(Debug, clap::Args)]
pub struct DepositArgs {
    /// CSV: student_number,file,kind,title,academic_year (files relative to the manifest)
    #[arg(long)]
    manifest: PathBuf,
    /// The organisation's seal key
    #[arg(long)]
    key: PathBuf,
    /// The organisation's seal certificate
    #[arg(long)]
    cert: PathBuf,
    /// Its issuers (PEM)
    #[arg(long)]
    chain: Option<PathBuf>,
    /// b-t, or b-lt to embed the operator's CRLs as well
    #[arg(long, default_value = "b-t", value_parser = ["b-t", "b-lt"])]
    level: String,
    /// Where the per-row report goes (default: MANIFEST-report.csv)
    #[arg(long)]
    report: Option<PathBuf>,
    /// Deposits in flight at once
    #[arg(long, default_value_t = 16)]
    jobs: usize,
}

struct Row {
    line: usize,
    student_number: String,
    file: PathBuf,
    kind: DocumentKind,
    title: String,
    academic_year: String,
    source: String,
}

#[derive(Clone)]
enum Outcome {
    Deposited(String),
    Skipped(&'static str),
    Refused(String),
}

/// Parses and checks the whole manifest; bad rows are reported with their
/// line numbers and nothing is sealed.
fn read_manifest(path: &Path) -> Result<Result<Vec<Row>, Vec<String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    for (i, rec) in reader.records().enumerate() {
        let line = i + 1;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: unreadable ({e})"));
                continue;
            }
        };
        if line == 1
            && rec
                .get(0)
                .is_some_and(|f| f.eq_ignore_ascii_case("student_number"))
        {
            continue;
        }
        if rec.iter().all(str::is_empty) {
            continue;
        }
        if rec.len() != 5 {
            errors.push(format!(
                "line {line}: expected 5 fields, found {}",
                rec.len()
            ));
            continue;
        }
        let f = |i: usize| rec.get(i).unwrap_or_default().to_owned();
        let Some(kind) = DocumentKind::parse(&f(2)) else {
            errors.push(format!("line {line}: kind {:?} is not one of transcript, certificate_of_achievement, diploma, other", f(2)));
            continue;
        };
        let year = f(4);
        let year_ok = year
            .split_once('-')
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
            .is_some_and(|(a, b)| a >= 1900 && b == a + 1);
        if !year_ok {
            errors.push(format!(
                "line {line}: academic year {year:?} should look like 2025-2026"
            ));
            continue;
        }
        if f(0).is_empty() || f(3).is_empty() {
            errors.push(format!(
                "line {line}: student number and title are required"
            ));
            continue;
        }
        let file = base.join(f(1));
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => {
                errors.push(format!("line {line}: {}: {e}", file.display()));
                continue;
            }
        };
        if !bytes.starts_with(b"%PDF-") {
            errors.push(format!("line {line}: {} is not a PDF", file.display()));
            continue;
        }
        rows.push(Row {
            line,
            student_number: f(0),
            file,
            kind,
            title: f(3),
            academic_year: year,
            source: coffre_seal::hex(&coffre_seal::sha256(&bytes)),
        });
    }
    Ok(if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    })
}

pub async fn run(client: &Client, server: &str, args: DepositArgs) -> Result<ExitCode> {
    let rows = match read_manifest(&args.manifest)? {
        Ok(rows) => rows,
        Err(errors) => {
            eprintln!(
                "{}: {} bad rows; nothing was deposited:",
                args.manifest.display(),
                errors.len()
            );
            for e in &errors {
                eprintln!("  {e}");
            }
            return Ok(ExitCode::from(1));
        }
    };
    let key: SigningKey = files::key(&args.key)?;
    let mut chain: Vec<Certificate> = files::certs(&args.cert)?;
    if let Some(c) = &args.chain {
        chain.extend(files::certs(c)?);
    }
    let level = if args.level == "b-lt" {
        Level::BLt
    } else {
        Level::BT
    };
    let crls: Vec<Crl> = if level == Level::BLt {
        client
            .trust()
            .await?
            .crls
            .iter()
            .map(|p| Crl::from_pem_or_der(p.as_bytes()))
            .collect::<std::result::Result<_, _>>()?
    } else {
        Vec::new()
    };
    let tsa = HttpTsa {
        url: format!("{}/tsa", server.trim_end_matches('/')),
    };

    // What was deposited already (an earlier, interrupted run).
    let mut known = HashSet::new();
    for batch in rows.chunks(1000) {
        known.extend(
            client
                .known_deposits(batch.iter().map(|r| r.source.clone()).collect())
                .await?,
        );
    }
    let total = rows.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; total];
    let todo: Vec<usize> = (0..total)
        .filter(|i| !known.contains(&rows[*i].source))
        .collect();
    for i in (0..total).filter(|i| known.contains(&rows[*i].source)) {
        outcomes[i] = Some(Outcome::Skipped("already deposited"));
    }

    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut done = total - todo.len();
    for chunk in todo.chunks(256) {
        let cfg = SealConfig {
            key: &key,
            chain: chain.clone(),
            level,
            time: crate::now(),
            timestamper: Some(&tsa),
            crls: crls.clone(),
            certify: false,
            reason: None,
        };
        let sealed: Vec<(usize, Result<Vec<u8>, String>)> = chunk
            .par_iter()
            .map(|&i| {
                let r = std::fs::read(&rows[i].file)
                    .map_err(|e| e.to_string())
                    .and_then(|pdf| {
                        coffre_seal::seal(&pdf, &cfg).map_err(|e| format!("sealing: {e}"))
                    });
                (i, r)
            })
            .collect();
        let results: Vec<(usize, Outcome)> = futures::stream::iter(sealed)
            .map(|(i, sealed)| {
                let row = &rows[i];
                async move {
                    let pdf = match sealed {
                        Ok(p) => p,
                        Err(e) => return (i, Outcome::Refused(e)),
                    };
                    let params = DepositParams {
                        student_number: row.student_number.clone(),
                        kind: row.kind,
                        title: row.title.clone(),
                        academic_year: row.academic_year.clone(),
                        source_sha256: Some(row.source.clone()),
                    };
                    match client.deposit(&params, pdf).await {
                        Ok(d) if d.already_deposited => (i, Outcome::Skipped("already deposited")),
                        Ok(d) => (i, Outcome::Deposited(d.document_id)),
                        Err(e) => (i, Outcome::Refused(e.to_string())),
                    }
                }
            })
            .buffer_unordered(args.jobs.max(1))
            .collect()
            .await;
        for (i, o) in results {
            outcomes[i] = Some(o);
        }
        done += chunk.len();
        let rate = (done - (total - todo.len())) as f64 / started.elapsed().as_secs_f64().max(1e-3);
        let eta = (total - done) as f64 / rate.max(1e-3);
        let line = format!(
            "{done}/{total} documents — {rate:.0}/s — {:02}:{:02} left",
            (eta as u64) / 60,
            (eta as u64) % 60
        );
        if tty {
            eprint!("\r{line}   ");
        } else {
            eprintln!("{line}");
        }
    }
    if tty {
        eprintln!();
    }

    // The report: one line per manifest row.
    let report = args.report.clone().unwrap_or_else(|| {
        let stem = args
            .manifest
            .file_stem()
            .map_or("manifest".into(), |s| s.to_string_lossy().into_owned());
        args.manifest.with_file_name(format!("{stem}-report.csv"))
    });
    let mut w =
        csv::Writer::from_path(&report).with_context(|| format!("writing {}", report.display()))?;
    w.write_record(["line", "student_number", "file", "outcome", "detail"])?;
    let (mut deposited, mut skipped, mut refused) = (0, 0, 0);
    for (row, o) in rows.iter().zip(&outcomes) {
        let (what, detail) = match o {
            Some(Outcome::Deposited(id)) => {
                deposited += 1;
                ("deposited", id.clone())
            }
            Some(Outcome::Skipped(why)) => {
                skipped += 1;
                ("skipped", (*why).to_owned())
            }
            Some(Outcome::Refused(why)) => {
                refused += 1;
                ("refused", why.clone())
            }
            None => ("refused", "not processed".to_owned()),
        };
        w.write_record([
            &row.line.to_string(),
            &row.student_number,
            &row.file.display().to_string(),
            what,
            &detail,
        ])?;
    }
    w.flush()?;
    println!(
        "{deposited} deposited, {skipped} skipped (already there), {refused} refused; report: {}",
        report.display()
    );
    for (row, o) in rows.iter().zip(&outcomes) {
        if let Some(Outcome::Refused(why)) = o {
            eprintln!("  line {} ({}): {why}", row.line, row.student_number);
        }
    }
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
