//! `coffre org deposit`: seal every document of a manifest locally (with
//! the server's time-stamps) and deposit it, in parallel, with progress, a
//! per-row report, and idempotence: an original already deposited for its
//! student is skipped, so an interrupted run is finished by running it
//! again.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use coffre_api::{Client, DepositParams, DocumentKind, KnownDeposit};
use coffre_seal::{Certificate, Crl, Level, SealConfig, SigningKey, Status, ValidationConfig};
use futures::StreamExt;
use rayon::prelude::*;

use crate::seal_cmd::{HttpTsa, SealKey};
use crate::term::printable;

#[derive(Debug, clap::Args)]
pub struct DepositArgs {
    /// CSV: student_number,file,kind,title,academic_year (files relative to the manifest)
    #[arg(long)]
    manifest: PathBuf,
    #[command(flatten)]
    seal_key: SealKey,
    /// b-lt (the default) embeds the operator's CRLs, so that the file
    /// validates offline for years; b-t leaves them out
    #[arg(long, default_value = "b-lt", value_parser = ["b-t", "b-lt"])]
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
    /// Not done because the server could not be reached (or failed) even
    /// after retrying: the run stops, and running it again finishes it.
    Failed(String),
}

/// How long to wait before each new attempt when the server cannot be
/// reached or fails: about 8 s in all, then the run stops.
const RETRIES: [Duration; 4] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// Worth another try: the connection failed or broke, or the server
/// failed or is overloaded. A refusal (bad seal, unknown student) is not.
fn worth_retrying(e: &coffre_api::Error) -> bool {
    match e {
        coffre_api::Error::Transport(_) => true,
        coffre_api::Error::Api { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// Still failing after the retries, this stops the run: the server (or
/// what is in front of it) is out of reach or overloaded. Otherwise (a
/// 500 on one document) only that row fails, so that one bad document
/// cannot stop every run at the same place.
fn server_out_of_reach(e: &coffre_api::Error) -> bool {
    match e {
        coffre_api::Error::Transport(_) => true,
        coffre_api::Error::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
        _ => false,
    }
}

/// What sealing needs, shared by the test seal and the sealing threads.
struct Sealer {
    key: SigningKey,
    chain: Vec<Certificate>,
    level: Level,
    tsa: HttpTsa,
    crls: Vec<Crl>,
}

impl Sealer {
    fn seal(&self, file: &Path) -> Result<Vec<u8>, Sealing> {
        let pdf = std::fs::read(file)
            .map_err(|e| Sealing::Refused(format!("reading {}: {e}", file.display())))?;
        let cfg = SealConfig {
            key: &self.key,
            chain: self.chain.clone(),
            level: self.level,
            time: crate::now(),
            timestamper: Some(&self.tsa),
            crls: self.crls.clone(),
            certify: false,
            reason: None,
        };
        coffre_seal::seal(&pdf, &cfg).map_err(|e| match e {
            // The TSA is the server: it is out of reach.
            coffre_seal::Error::Tsa(_) => Sealing::Failed(format!("sealing: {e}")),
            e => Sealing::Refused(format!("sealing: {e}")),
        })
    }
}

/// Seals `file` and validates the result as the server will: `Err` says
/// why it would be refused.
fn test_seal(sealer: &Sealer, file: &Path, trusted: &ValidationConfig) -> Result<(), Sealing> {
    let sealed = sealer.seal(file)?;
    let refused = |why: String| Sealing::Refused(why);
    let report = coffre_seal::validate(&sealed, trusted).map_err(|e| refused(e.to_string()))?;
    match report.status() {
        Status::TotalPassed => Ok(()),
        status => Err(refused(
            report
                .signatures
                .iter()
                .flat_map(|s| s.details.iter())
                .next()
                .cloned()
                .unwrap_or_else(|| status.as_str().to_owned()),
        )),
    }
}

/// Why sealing gave no document.
enum Sealing {
    Refused(String),
    Failed(String),
    NotAttempted,
}

/// Set once the server is out of reach: the rows not yet sent are left for
/// the next run rather than each failing on its own.
#[derive(Clone, Default)]
struct Stop(Arc<std::sync::OnceLock<String>>);

impl Stop {
    fn set(&self, why: String) {
        let _ = self.0.set(why);
    }

    fn is_set(&self) -> bool {
        self.0.get().is_some()
    }

    fn reason(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }

    fn not_attempted(&self) -> Outcome {
        Outcome::Failed(format!(
            "not attempted: the run stopped ({})",
            self.reason().unwrap_or("the server could not be reached")
        ))
    }
}

/// A progress bar with rate and time left: redrawn in place on a
/// terminal, a line every 5 s in a log.
struct Progress {
    total: usize,
    done: usize,
    skipped: usize,
    started: Instant,
    drawn: Instant,
    tty: bool,
    width: usize,
}

impl Progress {
    fn new(total: usize, skipped: usize) -> Self {
        let now = Instant::now();
        Progress {
            total,
            done: skipped,
            skipped,
            started: now,
            drawn: now,
            tty: std::io::stderr().is_terminal(),
            width: 0,
        }
    }

    fn advance(&mut self) {
        self.done += 1;
        let every = if self.tty { 0.1 } else { 5.0 };
        if self.drawn.elapsed().as_secs_f64() >= every {
            self.draw();
        }
    }

    fn finish(&mut self) {
        self.draw();
        if self.tty {
            eprintln!();
        }
    }

    fn draw(&mut self) {
        self.drawn = Instant::now();
        let line = bar_line(
            self.done,
            self.total,
            self.done - self.skipped,
            self.started.elapsed().as_secs_f64(),
        );
        if self.tty {
            // Spaces cover what a longer previous line left on screen.
            let pad = self.width.saturating_sub(line.chars().count());
            self.width = line.chars().count();
            eprint!("\r{line}{:pad$}", "");
        } else {
            eprintln!("{line}");
        }
    }
}

/// `[#########.........]  30,000/60,000  50%  551/s  00:54 left`
fn bar_line(done: usize, total: usize, this_run: usize, seconds: f64) -> String {
    const WIDTH: usize = 30;
    let fraction = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let filled = ((fraction * WIDTH as f64) as usize).min(WIDTH);
    let rate = this_run as f64 / seconds.max(1e-3);
    let left = if rate > 0.0 {
        let s = ((total - done) as f64 / rate).round() as u64;
        format!("{:02}:{:02} left", s / 60, s % 60)
    } else {
        "--:-- left".to_owned()
    };
    format!(
        "[{}{}] {:>7}/{}  {:>3.0}%  {:.0}/s  {left}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        done,
        total,
        fraction * 100.0,
        rate
    )
}

/// Parses and checks the whole manifest; bad rows are reported with their
/// line numbers and nothing is sealed.
fn line_of(error: &str) -> usize {
    error
        .strip_prefix("line ")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

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
        rows.push(Row {
            line,
            student_number: f(0),
            file: base.join(f(1)),
            kind,
            title: f(3),
            academic_year: year,
            source: String::new(),
        });
    }
    // Every original is read and hashed (on every core): the digest is how
    // the server recognises what an earlier run deposited already.
    let unreadable: Vec<(usize, String)> = rows
        .par_iter_mut()
        .filter_map(|row| {
            let bytes = match std::fs::read(&row.file) {
                Ok(b) => b,
                Err(e) => return Some((row.line, format!("{}: {e}", row.file.display()))),
            };
            if !bytes.starts_with(b"%PDF-") {
                return Some((row.line, format!("{} is not a PDF", row.file.display())));
            }
            row.source = coffre_seal::hex(&coffre_seal::sha256(&bytes));
            None
        })
        .collect();
    if !unreadable.is_empty() {
        let mut all: Vec<(usize, String)> = errors
            .into_iter()
            .map(|e| (line_of(&e), e))
            .chain(
                unreadable
                    .into_iter()
                    .map(|(line, e)| (line, format!("line {line}: {e}"))),
            )
            .collect();
        all.sort_by_key(|(line, _)| *line);
        errors = all.into_iter().map(|(_, e)| e).collect();
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
    let (key, chain) = args.seal_key.load()?;
    let level = if args.level == "b-lt" {
        Level::BLt
    } else {
        Level::BT
    };
    let trust = client.trust().await?;
    let operator_crls: Vec<Crl> = trust
        .crls
        .iter()
        .map(|p| Crl::from_pem_or_der(p.as_bytes()))
        .collect::<std::result::Result<_, _>>()?;
    let anchors: Vec<Certificate> = trust
        .anchors
        .iter()
        .map(|p| Certificate::from_pem_chain(p))
        .collect::<std::result::Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let sealer = Arc::new(Sealer {
        key,
        chain,
        level,
        tsa: HttpTsa::new(format!("{}/tsa", server.trim_end_matches('/'))),
        crls: if level == Level::BLt {
            operator_crls.clone()
        } else {
            Vec::new()
        },
    });

    // What was deposited already (an earlier, interrupted run).
    let key_of = |r: &Row| KnownDeposit {
        student_number: r.student_number.clone(),
        source_sha256: r.source.clone(),
    };
    let mut known = HashSet::new();
    for batch in rows.chunks(1000) {
        known.extend(
            client
                .known_deposits(batch.iter().map(key_of).collect())
                .await?,
        );
    }
    let total = rows.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; total];
    let mut todo: Vec<usize> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if known.contains(&key_of(row)) {
            outcomes[i] = Some(Outcome::Skipped("already deposited"));
        } else {
            todo.push(i);
        }
    }

    // One document sealed and validated here first, against the operator's
    // root and CRLs: a wrong key, certificate or chain stops the run before
    // anything is sent, instead of having every row refused.
    if let Some(&first) = todo.first() {
        let trusted = ValidationConfig::new(anchors, operator_crls, crate::now());
        let (sealer, file) = (Arc::clone(&sealer), rows[first].file.clone());
        let checked = tokio::task::spawn_blocking(move || test_seal(&sealer, &file, &trusted))
            .await
            .context("the test seal stopped")?;
        match checked {
            Ok(()) => {}
            Err(Sealing::Failed(why)) => {
                eprintln!(
                    "the Coffre server's time-stamping did not answer ({why}); nothing was deposited: \
                     run the same command again once the server is back"
                );
                return Ok(ExitCode::from(1));
            }
            Err(refusal) => {
                let why = match refusal {
                    Sealing::Refused(why) => why,
                    _ => "not attempted".to_owned(),
                };
                eprintln!(
                    "a test seal of line {} does not validate with the Coffre operator's root: {why}\n\
                     check --key, --cert and --chain (the files `coffre admin org create` wrote); nothing was deposited",
                    rows[first].line
                );
                return Ok(ExitCode::from(1));
            }
        }
    }

    // Sealing (every core, blocking calls to the TSA) feeds depositing
    // (`--jobs` requests in flight) through a short queue, so both run at
    // once and memory stays bounded whatever the size of the manifest.
    let rows = Arc::new(rows);
    let stop = Stop::default();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, Result<Vec<u8>, Sealing>)>(64);
    let sealing = {
        let rows = Arc::clone(&rows);
        let stop = stop.clone();
        let todo = todo.clone();
        let sealer = Arc::clone(&sealer);
        tokio::task::spawn_blocking(move || {
            todo.par_iter().for_each_with(tx, |tx, &i| {
                let sealed = if stop.is_set() {
                    Err(Sealing::NotAttempted)
                } else {
                    sealer.seal(&rows[i].file).inspect_err(|e| {
                        if let Sealing::Failed(why) = e {
                            stop.set(why.clone());
                        }
                    })
                };
                // A closed queue means the deposit side has stopped.
                let _ = tx.blocking_send((i, sealed));
            });
        })
    };
    let sealed = futures::stream::poll_fn(|cx| rx.poll_recv(cx));
    let mut results = sealed
        .map(|(i, sealed)| {
            let row = &rows[i];
            let stop = &stop;
            async move {
                let pdf = match sealed {
                    Ok(p) => bytes::Bytes::from(p),
                    Err(Sealing::Refused(e)) => return (i, Outcome::Refused(e)),
                    Err(Sealing::Failed(e)) => return (i, Outcome::Failed(e)),
                    Err(Sealing::NotAttempted) => return (i, stop.not_attempted()),
                };
                let params = DepositParams {
                    student_number: row.student_number.clone(),
                    kind: row.kind,
                    title: row.title.clone(),
                    academic_year: row.academic_year.clone(),
                    source_sha256: Some(row.source.clone()),
                };
                let mut attempt = 0;
                loop {
                    if stop.is_set() {
                        return (i, stop.not_attempted());
                    }
                    match client.deposit(&params, pdf.clone()).await {
                        // Known on a retry: this run's earlier attempt got
                        // in, and its answer was lost.
                        Ok(d) if d.already_deposited && attempt == 0 => {
                            return (i, Outcome::Skipped("already deposited"))
                        }
                        Ok(d) => return (i, Outcome::Deposited(d.document_id)),
                        Err(e) if worth_retrying(&e) => {
                            if attempt == RETRIES.len() {
                                if !server_out_of_reach(&e) {
                                    let why = format!("{e} (tried {} times)", attempt + 1);
                                    return (i, Outcome::Refused(why));
                                }
                                stop.set(e.to_string());
                                return (i, Outcome::Failed(e.to_string()));
                            }
                            tokio::time::sleep(RETRIES[attempt]).await;
                            attempt += 1;
                        }
                        Err(e) => return (i, Outcome::Refused(e.to_string())),
                    }
                }
            }
        })
        .buffer_unordered(args.jobs.max(1));
    let mut progress = Progress::new(total, total - todo.len());
    while let Some((i, o)) = results.next().await {
        outcomes[i] = Some(o);
        progress.advance();
    }
    progress.finish();
    sealing.await.context("the sealing threads stopped")?;

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
    let (mut deposited, mut skipped, mut refused, mut failed) = (0, 0, 0, 0);
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
            Some(Outcome::Failed(why)) => {
                failed += 1;
                ("not done", why.clone())
            }
            None => {
                failed += 1;
                ("not done", "not processed".to_owned())
            }
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
    let not_done = if failed > 0 {
        format!(", {failed} not done")
    } else {
        String::new()
    };
    println!(
        "{deposited} deposited, {skipped} skipped (already there), {refused} refused{not_done}; report: {}",
        report.display()
    );
    for (row, o) in rows.iter().zip(&outcomes) {
        if let Some(Outcome::Refused(why)) = o {
            eprintln!(
                "  line {} ({}): {}",
                row.line,
                printable(&row.student_number),
                printable(why)
            );
        }
    }
    if let Some(why) = stop.reason() {
        eprintln!(
            "stopped: {why}\n{failed} documents were not deposited; once the server is back, \
             run the same command again to finish (what is there already is skipped)"
        );
    }
    Ok(if refused == 0 && failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_count_rate_and_time_left() {
        assert_eq!(
            bar_line(30_000, 60_000, 30_000, 60.0),
            "[###############...............]   30000/60000   50%  500/s  01:00 left"
        );
        // Rows skipped as already deposited fill the bar, not the rate.
        assert_eq!(
            bar_line(100, 100, 0, 1.0),
            "[##############################]     100/100  100%  0/s  --:-- left"
        );
        assert!(bar_line(0, 0, 0, 0.0).contains("100%"));
    }

    #[test]
    fn manifest_errors_sort_by_line() {
        assert_eq!(
            line_of("line 12: student number and title are required"),
            12
        );
        assert_eq!(line_of("no line"), 0);
    }
}
