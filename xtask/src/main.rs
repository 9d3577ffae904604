//! `cargo xtask`: Coffre's project tasks, in Rust so they run wherever cargo
//! does (matklad's "cargo xtask" pattern). Each subcommand prints a short
//! step log ("== …") and fails with the step that went wrong.

#![forbid(unsafe_code)]

mod bench;
mod bench_org;
mod demo;
mod desktop;
mod external;
mod fuzz;
mod services;

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test                 install what is missing (Linux with apt: validators, PostgreSQL,
                       an S3 server, WebKitGTK, Xvfb, gnome-keyring, tauri-driver, the
                       UI's packages), check and build the UI, start the servers on
                       loopback, run every test of the workspace (the desktop suite in
                       a desktop session of its own), then stop the servers
  run                  build the UI, `coffre` and the desktop app, start the service on a
                       free loopback port with a demo university, its students and their
                       sealed transcripts (data in target/demo/data, kept between runs),
                       and open the app on it
  fuzz [--seconds N]   fuzz coffre_seal::validate for N seconds (default 600)
  bench seal [--files N]
                       seal and verify N transcripts (default 200) with coffre,
                       pdfsig and pyHanko, and compare their throughput
  bench org [--count N] [--postgres-count M]
                       a registrar's run: N sample transcripts (default 60,000) sealed
                       and deposited with coffre org deposit into a fresh coffre serve
                       on SQLite, then M (default 5,000) on a throwaway PostgreSQL;
                       every stored file checked with coffre verify, 20 with pyHanko
  bench print          printable copies of a sealed transcript per second on one core,
                       the copy's size, beside pdftocairo rewriting the same file
  bench server         sealed deposits per second over HTTP, Coffre list latency
                       with 10,000 documents, server memory during a 1 GB upload
  bench abuse          a release server under sign-in floods, 2,000 idle connections
                       and 1.9 MB fields while a student lists her documents: the
                       server's peak and final RSS, the student's p50/p99
  help                 print this text
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match args.as_slice() {
        ["test"] => external::test(),
        ["run"] => demo::run_demo(),
        ["fuzz", rest @ ..] => match parse_seconds(rest) {
            Some(seconds) => fuzz::run_fuzz(seconds),
            None => return usage(),
        },
        ["bench", "seal", rest @ ..] => match parse_files(rest) {
            Some(files) => bench::seal(files),
            None => return usage(),
        },
        ["bench", "server"] => bench::server(),
        ["bench", "print"] => bench::print(),
        ["bench", "abuse"] => bench::abuse(),
        ["bench", "org", rest @ ..] => match parse_org_counts(rest) {
            Some((count, pg_count)) => bench_org::org(count, pg_count),
            None => return usage(),
        },
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => return usage(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprint!("{USAGE}");
    ExitCode::from(2)
}

fn parse_seconds(args: &[&str]) -> Option<u64> {
    match args {
        [] => Some(600),
        ["--seconds", n] => n.parse().ok(),
        _ => None,
    }
}

/// `[--count N] [--postgres-count M]`, 60,000 and 5,000 unless given.
fn parse_org_counts(args: &[&str]) -> Option<(usize, usize)> {
    let (mut count, mut pg_count) = (60_000, 5_000);
    let mut rest = args;
    while let [flag, n, tail @ ..] = rest {
        let n: usize = n.parse().ok().filter(|&n| n > 0)?;
        match *flag {
            "--count" => count = n,
            "--postgres-count" => pg_count = n,
            _ => return None,
        }
        rest = tail;
    }
    rest.is_empty().then_some((count, pg_count))
}

fn parse_files(args: &[&str]) -> Option<usize> {
    match args {
        [] => Some(200),
        ["--files", n] => n.parse().ok().filter(|&n| n > 0),
        _ => None,
    }
}

/// The workspace root: xtask lives one level below it.
fn root() -> Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest directory has no parent")
}

/// Cargo's target directory, honouring CARGO_TARGET_DIR like cargo does.
fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// The cargo that runs us, so rustup's toolchain choice carries over.
///
/// Without the variables `cargo run` set for xtask itself: build scripts that
/// watch them (ring's `rerun-if-env-changed=CARGO_PKG_NAME`, …) would
/// otherwise see them change and rebuild, here and again in the next plain
/// `cargo build`.
fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (name, _) in env::vars_os() {
        let is_ours = name.to_str().is_some_and(|name| {
            name.starts_with("CARGO_PKG_")
                || matches!(
                    name,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_BIN_NAME"
                        | "CARGO_CRATE_NAME"
                )
        });
        if is_ours {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Runs a command to completion with inherited output; fails unless it exits 0.
fn run(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs a command and returns its standard output; fails unless it exits 0.
fn output(cmd: &mut Command) -> Result<String> {
    let shown = show(cmd);
    let out = cmd
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{shown}` printed non-UTF-8 text"))
}

/// Whether `program` is an executable on PATH (the `command -v` test).
fn on_path(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// Whether we run as root (`id -u` is 0).
fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0")
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

/// A command line as a person would type it, for logs and error messages.
fn show(cmd: &Command) -> String {
    let mut parts = vec![quote(cmd.get_program())];
    parts.extend(cmd.get_args().map(quote));
    parts.join(" ")
}

fn quote(arg: &OsStr) -> String {
    let arg = arg.to_string_lossy();
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        arg.into_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Builds the `coffre` binary with the given cargo profile and returns its path.
fn build_coffre(root: &Path, release: bool) -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.current_dir(root).args(["build", "-p", "coffre-cli"]);
    if release {
        cmd.arg("--release");
    }
    run(&mut cmd).context("building coffre")?;
    Ok(target_dir(root)
        .join(profile_dir(release))
        .join(exe("coffre")))
}

/// Builds the coffre-seal `throughput` example (sample generator, in-process
/// seal and verify loops) and returns its path.
fn build_throughput(root: &Path, release: bool) -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.current_dir(root)
        .args(["build", "-p", "coffre-seal", "--example", "throughput"]);
    if release {
        cmd.arg("--release");
    }
    run(&mut cmd).context("building the coffre-seal throughput example")?;
    Ok(target_dir(root)
        .join(profile_dir(release))
        .join("examples")
        .join(exe("throughput")))
}

fn profile_dir(release: bool) -> &'static str {
    if release {
        "release"
    } else {
        "debug"
    }
}

fn exe(name: &str) -> String {
    format!("{name}{}", env::consts::EXE_SUFFIX)
}

/// Writes `count` sample PDFs into `dir` with the throughput example:
/// transcripts (`transcript-NNN.pdf`, ~120 KB) or tiny ones (`small-N.pdf`).
fn generate_samples(throughput: &Path, dir: &Path, count: usize, small: bool) -> Result<()> {
    let mut cmd = Command::new(throughput);
    cmd.arg("--generate").arg(dir).arg(count.to_string());
    if small {
        cmd.arg("--small");
    }
    run(&mut cmd).with_context(|| format!("generating sample PDFs in {}", dir.display()))
}

/// Makes the PKI of `coffre pki init` in `dir` unless it is already there.
fn pki_init(coffre: &Path, dir: &Path) -> Result<()> {
    if dir.join("root.pem").is_file() && dir.join("seal.key.pem").is_file() {
        return Ok(());
    }
    run(Command::new(coffre).args(["pki", "init"]).arg(dir))
        .with_context(|| format!("making a PKI in {}", dir.display()))
}

/// Removes `dir` if present and creates it empty.
fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        assert_eq!(parse_seconds(&[]), Some(600));
        assert_eq!(parse_seconds(&["--seconds", "30"]), Some(30));
        assert_eq!(parse_seconds(&["--seconds"]), None);
        assert_eq!(parse_seconds(&["--seconds", "soon"]), None);
        assert_eq!(parse_files(&[]), Some(200));
        assert_eq!(parse_files(&["--files", "7"]), Some(7));
        assert_eq!(parse_files(&["--files", "0"]), None);
        assert_eq!(parse_org_counts(&[]), Some((60_000, 5_000)));
        assert_eq!(
            parse_org_counts(&["--postgres-count", "10", "--count", "20"]),
            Some((20, 10))
        );
        assert_eq!(parse_org_counts(&["--count"]), None);
        assert_eq!(parse_org_counts(&["--count", "0"]), None);
        assert_eq!(parse_org_counts(&["--files", "3"]), None);
    }

    #[test]
    fn shown_commands_are_quoted() {
        let mut cmd = Command::new("coffre");
        cmd.args(["verify", "--lang", "fr", "my file.pdf", "it's"]);
        assert_eq!(
            show(&cmd),
            r"coffre verify --lang fr 'my file.pdf' 'it'\''s'"
        );
    }
}
