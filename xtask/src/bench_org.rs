//! `cargo xtask bench org`: what a registrar's run costs, and whether what
//! it delivered is sound.
//!
//! Twice: N transcripts (default 60,000) into a fresh release `coffre
//! serve` on SQLite, then M (default 5,000) into one on a throwaway
//! PostgreSQL cluster; both with local blobs. Each run makes the sample
//! roster and transcripts with `coffre org`, imports the roster, then times
//! `coffre org deposit` (seal B-LT with the server's TSA and CRLs, 16 deposits in
//! flight) and reads the peak memory and CPU time of both processes while
//! they run. Afterwards every sealed file the server stored is checked
//! with `coffre verify` against the operator's root, and 20 of them picked
//! at random with pyHanko: `sign validate`, and `sign adesverify`, which
//! checks revocation with only the CRLs each file carries.

use std::fs;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::external::{provision, Scope};
use crate::services::Postgres;
use crate::{build_coffre, fresh_dir, output, root, run, target_dir};

/// A registrar's deadline: 60,000 transcripts in two minutes.
const TARGET_S_PER_60K: f64 = 120.0;
const TARGET_CLI_RSS_MB: f64 = 300.0;
/// How many sealed files pyHanko checks per run.
const PYHANKO_SAMPLE: usize = 20;
/// Files per `coffre verify` process.
const VERIFY_BATCH: usize = 4000;

pub fn org(count: usize, pg_count: usize) -> Result<()> {
    let root = root()?;
    let tools = provision(&root, Scope::ValidatorsAndServers)?;
    println!("== building coffre (release)");
    let coffre = build_coffre(&root, true)?;
    let work = target_dir(&root).join("bench-org");
    fresh_dir(&work)?;

    let mut runs = Vec::new();
    let mut sqlite = Bench {
        coffre: &coffre,
        work: work.join("sqlite"),
        database: "SQLite",
        database_url: None,
    }
    .run(count)?;
    check(&mut sqlite, &coffre, tools.pyhanko.as_deref())?;
    runs.push(sqlite);

    match &tools.postgres_bin {
        Some(bin) => {
            let postgres = Postgres::start(&root, bin)?;
            let run = Bench {
                coffre: &coffre,
                work: work.join("postgres"),
                database: "PostgreSQL",
                database_url: Some(postgres.url()),
            }
            .run(pg_count);
            drop(postgres);
            let mut run = run?;
            check(&mut run, &coffre, tools.pyhanko.as_deref())?;
            runs.push(run);
        }
        None => println!("== skipping the PostgreSQL run: no PostgreSQL server programs found"),
    }

    println!("\ncoffre org deposit into coffre serve (release, local blobs) on this machine\n");
    println!(
        "  {:<12} {:>8} {:>8} {:>8} {:>10} {:>10} {:>9} {:>9} {:>11} {:>8}",
        "database",
        "docs",
        "wall s",
        "docs/s",
        "CLI MB",
        "server MB",
        "CLI cpu",
        "srv cpu",
        "verified",
        "pyHanko"
    );
    for r in &runs {
        println!(
            "  {:<12} {:>8} {:>8.1} {:>8.0} {:>10.1} {:>10.1} {:>8.1}s {:>8.1}s {:>11} {:>8}",
            r.database,
            r.count,
            r.wall,
            r.count as f64 / r.wall,
            r.cli.peak_kb as f64 / 1024.0,
            r.server.peak_kb as f64 / 1024.0,
            r.cli.cpu_s(),
            r.server.cpu_s(),
            format!("{}/{}", r.verified, r.count),
            format!("{}/{}", r.pyhanko_valid, r.pyhanko_checked),
        );
    }
    println!();
    let sqlite = &runs[0];
    let budget = TARGET_S_PER_60K * sqlite.count as f64 / 60_000.0;
    let verdict = |ok: bool| if ok { "met" } else { "NOT MET" };
    println!(
        "  wall time, {} on SQLite: {:.1} s (target <= {budget:.0} s) {}",
        sqlite.count,
        sqlite.wall,
        verdict(sqlite.wall <= budget)
    );
    let cli_peak = runs.iter().map(|r| r.cli.peak_kb).max().unwrap_or(0) as f64 / 1024.0;
    println!(
        "  peak RSS of coffre org deposit: {cli_peak:.1} MB (target <= {TARGET_CLI_RSS_MB:.0} MB) {}",
        verdict(cli_peak <= TARGET_CLI_RSS_MB)
    );
    for r in &runs {
        println!("  {}: {}", r.database, r.summary);
    }
    Ok(())
}

struct Bench<'a> {
    coffre: &'a Path,
    work: PathBuf,
    database: &'static str,
    database_url: Option<String>,
}

struct Outcome {
    database: &'static str,
    count: usize,
    wall: f64,
    cli: Usage,
    server: Usage,
    summary: String,
    data: PathBuf,
    verified: usize,
    pyhanko_valid: usize,
    pyhanko_checked: usize,
}

impl Bench<'_> {
    fn coffre(&self) -> Command {
        let mut cmd = Command::new(self.coffre);
        if let Some(url) = &self.database_url {
            cmd.env("COFFRE_DATABASE_URL", url);
        }
        cmd
    }

    fn run(&self, count: usize) -> Result<Outcome> {
        fresh_dir(&self.work)?;
        let data = self.work.join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = format!("http://127.0.0.1:{port}");
        println!("== {}: coffre serve on {url}", self.database);
        let mut server = self
            .coffre()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting coffre serve")?;
        let outcome = self.drive(&mut server, &url, &data, count);
        let _ = server.kill();
        let _ = server.wait();
        outcome
    }

    fn drive(&self, server: &mut Child, url: &str, data: &Path, count: usize) -> Result<Outcome> {
        let stdout = server.stdout.take().context("no stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line?.contains("is listening") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));

        let keys = self.work.join("keys");
        let created = output(
            self.coffre()
                .args(["admin", "org", "create", "--name", "Université Démo"])
                .args(["--domain", "univ-demo.example"])
                .arg("--data-dir")
                .arg(data)
                .arg("--out")
                .arg(&keys),
        )?;
        let key = created
            .lines()
            .find_map(|l| l.split("keep it secret): ").nth(1))
            .context("no API key printed")?
            .trim()
            .to_owned();
        let org = |args: &[&str]| {
            let mut cmd = Command::new(self.coffre);
            cmd.args(["org", "--server", url])
                .env("COFFRE_ORG_API_KEY", &key)
                .args(args);
            cmd
        };
        let roster = self.work.join("roster.csv");
        let docs = self.work.join("docs");
        let path = |p: &Path| p.to_str().map(str::to_owned).context("non-UTF-8 path");
        println!(
            "== {}: {count} sample students and transcripts",
            self.database
        );
        run(&mut org(&[
            "sample-roster",
            &count.to_string(),
            "-o",
            &path(&roster)?,
        ]))?;
        run(&mut org(&["import-roster", &path(&roster)?]))?;
        run(&mut org(&[
            "sample-transcripts",
            &path(&roster)?,
            &path(&docs)?,
        ]))?;

        println!(
            "== {}: coffre org deposit (seal B-LT with the server's TSA and CRLs, deposit, 16 in flight)",
            self.database
        );
        let mut deposit = org(&["deposit", "--manifest", &path(&docs.join("manifest.csv"))?]);
        deposit
            .arg("--key")
            .arg(keys.join("seal.key.pem"))
            .arg("--cert")
            .arg(keys.join("seal.pem"))
            .arg("--chain")
            .arg(keys.join("chain.pem"))
            .stdout(Stdio::piped());
        let started = Instant::now();
        let mut child = deposit.spawn().context("starting coffre org deposit")?;
        let (mut cli, mut srv) = (Usage::default(), Usage::default());
        let status = loop {
            cli.sample(child.id());
            srv.sample(server.id());
            if let Some(status) = child.try_wait()? {
                break status;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let wall = started.elapsed().as_secs_f64();
        srv.sample(server.id());
        let mut summary = String::new();
        if let Some(mut out) = child.stdout.take() {
            use std::io::Read;
            out.read_to_string(&mut summary)?;
        }
        if !status.success() {
            bail!("coffre org deposit failed: {summary}");
        }
        println!("   {count} in {wall:.1} s ({:.0}/s)", count as f64 / wall);
        Ok(Outcome {
            database: self.database,
            count,
            wall,
            cli,
            server: srv,
            summary: summary.trim().to_owned(),
            data: data.to_owned(),
            verified: 0,
            pyhanko_valid: 0,
            pyhanko_checked: 0,
        })
    }
}

/// Every sealed file the server stored validates TOTAL_PASSED with `coffre
/// verify` and the operator's root; a random 20 with pyHanko as well.
fn check(run: &mut Outcome, coffre: &Path, pyhanko: Option<&Path>) -> Result<()> {
    let mut files = stored_files(&run.data.join("blobs"))?;
    files.sort();
    if files.len() != run.count {
        bail!(
            "{}: the server stores {} files for {} deposits",
            run.database,
            files.len(),
            run.count
        );
    }
    let root = run.data.join("operator").join("root.pem");
    println!(
        "== {}: coffre verify of the {} stored files",
        run.database,
        files.len()
    );
    let started = Instant::now();
    let mut verified = 0;
    for batch in files.chunks(VERIFY_BATCH) {
        let out = Command::new(coffre)
            .args(["verify", "--json", "--trust"])
            .arg(&root)
            .args(batch)
            .stderr(Stdio::inherit())
            .output()
            .context("running coffre verify")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let passed = text.matches("\"status\": \"TOTAL_PASSED\"").count();
        if passed != batch.len() || !out.status.success() {
            let failed: Vec<&str> = text
                .split("\"file\": ")
                .skip(1)
                .filter(|f| !f.contains("\"status\": \"TOTAL_PASSED\""))
                .filter_map(|f| f.lines().next())
                .take(5)
                .collect();
            bail!(
                "{}: {} of {} files did not validate, first ones: {failed:?}",
                run.database,
                batch.len() - passed,
                batch.len()
            );
        }
        verified += passed;
    }
    println!(
        "   {verified} TOTAL_PASSED in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (mut valid, mut checked) = (0, 0);
    match pyhanko {
        Some(pyhanko) => {
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1;
            println!(
                "== {}: pyHanko on {PYHANKO_SAMPLE} files picked at random (seed {seed})",
                run.database
            );
            for file in pick(&files, PYHANKO_SAMPLE, seed) {
                // The signature, chain and time-stamp; then the AdES
                // validation, which checks revocation with the CRLs the
                // file carries (B-LT) and nothing else.
                let checks: [&[&str]; 2] =
                    [&["validate", "--no-revocation-check"], &["adesverify"]];
                for check in checks {
                    let out = Command::new(pyhanko)
                        .arg("sign")
                        .arg(check[0])
                        .arg("--trust")
                        .arg(&root)
                        .arg("--trust-replace")
                        .args(&check[1..])
                        .arg(file)
                        .output()
                        .context("running pyhanko")?;
                    let said = String::from_utf8_lossy(&out.stdout);
                    if !(out.status.success()
                        && said.contains("INTACT:TRUSTED")
                        && said.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"))
                    {
                        bail!(
                            "{}: pyHanko sign {} does not accept {}:\n{said}{}",
                            run.database,
                            check[0],
                            file.display(),
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                }
                checked += 1;
                valid += 1;
            }
            println!(
                "   {valid} of {checked} valid for pyHanko (sign validate and sign adesverify)"
            );
        }
        None => println!("== skipping pyHanko: it is not installed"),
    }
    run.verified = verified;
    run.pyhanko_valid = valid;
    run.pyhanko_checked = checked;
    Ok(())
}

/// The files under a local blob folder.
fn stored_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    Ok(files)
}

/// `n` distinct items picked with a small xorshift generator from `seed`.
fn pick<T>(items: &[T], n: usize, mut seed: u64) -> Vec<&T> {
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < n.min(items.len()) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let i = (seed % items.len() as u64) as usize;
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen.into_iter().map(|i| &items[i]).collect()
}

/// A process's peak resident memory and CPU time, read from /proc while it
/// runs (Linux; zeros elsewhere).
#[derive(Clone, Copy, Debug, Default)]
struct Usage {
    peak_kb: u64,
    /// user + system, in clock ticks (100 per second on Linux)
    cpu_ticks: u64,
}

impl Usage {
    fn sample(&mut self, pid: u32) {
        if let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) {
            let hwm = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
            self.peak_kb = self.peak_kb.max(hwm.unwrap_or(0));
        }
        if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
            self.cpu_ticks = self.cpu_ticks.max(cpu_ticks(&stat).unwrap_or(0));
        }
    }

    fn cpu_s(&self) -> f64 {
        self.cpu_ticks as f64 / 100.0
    }
}

/// utime + stime from a /proc/PID/stat line (fields 14 and 15; the command
/// name in parentheses may hold spaces).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_ticks_past_a_command_name_with_spaces() {
        let stat = "1234 (coffre serve) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 31 0 0 20 0 3 0";
        assert_eq!(cpu_ticks(stat), Some(281));
    }

    #[test]
    fn picks_distinct_items() {
        let items: Vec<usize> = (0..50).collect();
        let mut picked: Vec<usize> = pick(&items, 20, 12345).into_iter().copied().collect();
        picked.sort_unstable();
        picked.dedup();
        assert_eq!(picked.len(), 20);
        assert_eq!(pick(&items[..3], 20, 7).len(), 3);
    }
}
