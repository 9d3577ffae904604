//! The servers that the server tests talk to, started for one
//! `cargo xtask test` run and stopped after it, on loopback ports only: a
//! throwaway PostgreSQL cluster and moto's S3 server.
//!
//! Each is a guard: dropping it stops the server, so a failing test run
//! (xtask returning `Err`) or a panic stops them too. A Ctrl-C kills
//! moto (it is in our process group) but not PostgreSQL (`pg_ctl` puts it
//! in a session of its own): the next run stops a cluster left behind.

use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::external::Tools;
use crate::{fresh_dir, is_executable, is_root, output, quote, show, target_dir};

/// How long moto may take to answer HTTP after it is started.
const S3_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The variable that gives the server tests PostgreSQL's URL.
pub const POSTGRES_URL_VAR: &str = "COFFRE_TEST_POSTGRES_URL";
/// The variable that gives the server tests the S3 endpoint.
pub const S3_ENDPOINT_VAR: &str = "COFFRE_TEST_S3_ENDPOINT";

/// The servers running for this test run; dropping it stops them.
#[derive(Debug)]
pub struct TestServices {
    postgres: Option<Postgres>,
    s3: Option<S3Server>,
}

impl TestServices {
    /// Starts the servers whose programs `tools` found.
    pub fn start(root: &Path, tools: &Tools) -> Result<TestServices> {
        let mut services = TestServices {
            postgres: None,
            s3: None,
        };
        if let Some(bin) = &tools.postgres_bin {
            services.postgres =
                Some(Postgres::start(root, bin).context("starting PostgreSQL for the tests")?);
        }
        if let Some(moto_server) = &tools.moto_server {
            let log = target_dir(root).join("tools").join("moto.log");
            // On failure `services` drops here, and stops PostgreSQL.
            services.s3 = Some(
                S3Server::start(moto_server, &log)
                    .context("starting the S3 server for the tests")?,
            );
        }
        Ok(services)
    }

    /// The variables that tell the tests where the servers are.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut vars = Vec::new();
        if let Some(postgres) = &self.postgres {
            vars.push((POSTGRES_URL_VAR, postgres.url()));
        }
        if let Some(s3) = &self.s3 {
            vars.push((S3_ENDPOINT_VAR, s3.endpoint()));
        }
        vars
    }
}

/// A PostgreSQL cluster made for this run: trust authentication, superuser
/// `postgres`, listening on 127.0.0.1 only (and a Unix socket in its
/// directory). Durability is off: it is thrown away, folder and all, when
/// it stops.
#[derive(Debug)]
pub struct Postgres {
    pg_ctl: PathBuf,
    data_dir: PathBuf,
    port: u16,
    /// Root runs the cluster as the `postgres` user (initdb and the server
    /// refuse root).
    as_postgres_user: bool,
}

impl Postgres {
    /// Makes a fresh cluster with the programs in `bin` and starts it.
    pub fn start(root: &Path, bin: &Path) -> Result<Postgres> {
        let as_postgres_user = is_root();
        let pg_ctl = bin.join("pg_ctl");
        let started = Instant::now();
        let port = free_loopback_port()?;
        println!("== starting PostgreSQL on 127.0.0.1:{port}");
        let data_dir = data_dir(root, bin, port, as_postgres_user)?;
        // The guard exists from here on, so a failed start still stops
        // whatever did start.
        let postgres = Postgres {
            pg_ctl,
            data_dir,
            port,
            as_postgres_user,
        };
        let dir = &postgres.data_dir;
        output(
            postgres
                .command(&bin.join("initdb"))
                .arg("-D")
                .arg(dir)
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8"])
                .args(["--no-locale", "--no-sync"]),
        )
        .context("making the cluster")?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            // pg_ctl hands the options to a shell.
            quote(dir.as_os_str())
        );
        let log = dir.join("log");
        let start = output(
            postgres
                .command(&postgres.pg_ctl)
                .arg("-D")
                .arg(dir)
                .arg("-o")
                .arg(options)
                .arg("-l")
                .arg(&log)
                .args(["-w", "start"]),
        );
        if let Err(err) = start {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            bail!("{err:#}\n{} says:\n{said}", log.display());
        }
        println!(
            "   ready in {:.1} s: {} (cluster in {})",
            started.elapsed().as_secs_f64(),
            postgres.url(),
            dir.display()
        );
        Ok(postgres)
    }

    /// The URL the tests connect to (superuser, database `postgres`).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `program` as the cluster's owner.
    fn command(&self, program: &Path) -> Command {
        pg_command(program, &self.data_dir, self.as_postgres_user)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if !self.data_dir.join("postmaster.pid").is_file() {
            return; // never started
        }
        println!("== stopping PostgreSQL");
        let stop = output(
            self.command(&self.pg_ctl)
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-m", "immediate", "stop"]),
        );
        if let Err(err) = stop {
            eprintln!("xtask: warning: could not stop PostgreSQL: {err:#}");
            return;
        }
        // The cluster is thrown away: a run from a fresh clone would
        // otherwise leave one in the temporary folder each time.
        if let Err(err) = std::fs::remove_dir_all(&self.data_dir) {
            eprintln!(
                "xtask: warning: could not remove {}: {err}",
                self.data_dir.display()
            );
        }
    }
}

/// moto's S3 server, in memory, on 127.0.0.1. It takes any access key and
/// secret; tests make their buckets with `PUT /bucket-name`.
#[derive(Debug)]
pub struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    /// Starts `moto_server` (its output goes to `log`) and waits until it
    /// answers HTTP.
    fn start(moto_server: &Path, log: &Path) -> Result<S3Server> {
        let port = free_loopback_port()?;
        println!("== starting the S3 server (moto) on 127.0.0.1:{port}");
        let started = Instant::now();
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out
            .try_clone()
            .with_context(|| format!("opening {} twice", log.display()))?;
        let mut cmd = Command::new(moto_server);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let shown = show(&cmd);
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start `{shown}`"))?;
        let mut server = S3Server { child, port };
        if let Err(err) = server.wait_until_ready() {
            let said = std::fs::read_to_string(log).unwrap_or_default();
            bail!(
                "`{shown}` did not come up: {err:#}\n{} says:\n{said}",
                log.display()
            );
        }
        println!(
            "   ready in {:.1} s: {}",
            started.elapsed().as_secs_f64(),
            server.endpoint()
        );
        Ok(server)
    }

    /// The endpoint URL the tests use (path-style, plain HTTP).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_until_ready(&mut self) -> Result<()> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + S3_READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().context("waiting for moto")? {
                bail!("it exited ({status})");
            }
            if answers_http(addr) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "no HTTP answer on {addr} after {} s",
                    S3_READY_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        println!("== stopping the S3 server");
        if let Err(err) = self.child.kill().and_then(|()| self.child.wait().map(drop)) {
            eprintln!("xtask: warning: could not stop the S3 server: {err}");
        }
    }
}

/// Finds the newest PostgreSQL server programs of Debian's layout,
/// `/usr/lib/postgresql/<version>/bin`.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let base = Path::new("/usr/lib/postgresql");
    let versions: Vec<String> = std::fs::read_dir(base)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|version| {
            let bin = base.join(version).join("bin");
            ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|program| is_executable(&bin.join(program)))
        })
        .collect();
    let newest = highest_version(versions.iter().map(String::as_str))?;
    Some(base.join(newest).join("bin"))
}

/// The highest of Debian's PostgreSQL version directory names ("15",
/// "9.6"), compared as numbers; names that are not versions are ignored.
fn highest_version<'a>(names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    names
        .filter_map(|name| Some((version_key(name)?, name)))
        .max()
        .map(|(_, name)| name)
}

fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// A fresh, empty directory for this run's cluster, owned by whoever runs
/// the server. `target/tools/pg` unless the `postgres` user cannot reach it
/// (a checkout under a private home such as /root) or its socket path would
/// be too long; then a directory in the system's temporary directory, named
/// after the workspace so that each checkout has its own.
fn data_dir(root: &Path, bin: &Path, port: u16, as_postgres_user: bool) -> Result<PathBuf> {
    let preferred = target_dir(root).join("tools").join("pg");
    if socket_path_fits(&preferred, port) {
        prepare_data_dir(&preferred, bin, as_postgres_user)?;
        if !as_postgres_user || postgres_user_can_write(&preferred) {
            return Ok(preferred);
        }
        // Keep nothing the postgres user cannot use anyway.
        std::fs::remove_dir_all(&preferred)
            .with_context(|| format!("removing {}", preferred.display()))?;
    }
    let fallback = std::env::temp_dir().join(fallback_dir_name(root));
    println!(
        "   {} is out of the postgres user's reach or too deep for a socket: using {}",
        preferred.display(),
        fallback.display()
    );
    prepare_data_dir(&fallback, bin, as_postgres_user)?;
    if as_postgres_user && !postgres_user_can_write(&fallback) {
        bail!(
            "the postgres user cannot write {} either",
            fallback.display()
        );
    }
    Ok(fallback)
}

/// Stops a cluster an earlier, interrupted run left in `dir`, then makes
/// `dir` empty and hands it to the server's user.
fn prepare_data_dir(dir: &Path, bin: &Path, as_postgres_user: bool) -> Result<()> {
    if dir.join("postmaster.pid").is_file() {
        println!(
            "   stopping the cluster an earlier run left in {}",
            dir.display()
        );
        let stop = output(
            pg_command(&bin.join("pg_ctl"), dir, as_postgres_user)
                .arg("-D")
                .arg(dir)
                .args(["-m", "immediate", "stop"]),
        );
        if let Err(err) = stop {
            // Most often: it was no longer running.
            println!("   (not stopped: {err:#})");
        }
    }
    fresh_dir(dir)?;
    if as_postgres_user {
        output(Command::new("chown").arg("postgres:").arg(dir))
            .with_context(|| format!("giving {} to the postgres user", dir.display()))?;
    }
    Ok(())
}

fn postgres_user_can_write(dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-w"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `program`, run as the `postgres` user when `as_postgres_user`, from
/// `dir` (so that it does not start in a directory it cannot read).
fn pg_command(program: &Path, dir: &Path, as_postgres_user: bool) -> Command {
    let mut cmd = if as_postgres_user {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    };
    cmd.current_dir(dir).stdin(Stdio::null());
    cmd
}

/// Whether the server's Unix socket `DIR/.s.PGSQL.PORT` fits in
/// `sockaddr_un` (107 bytes and a NUL on Linux); PostgreSQL refuses to start
/// otherwise.
fn socket_path_fits(dir: &Path, port: u16) -> bool {
    let socket = dir.join(format!(".s.PGSQL.{port}"));
    socket.as_os_str().len() <= 107
}

fn fallback_dir_name(root: &Path) -> String {
    let mut hasher = DefaultHasher::new();
    root.hash(&mut hasher);
    format!("coffre-xtask-pg-{:016x}", hasher.finish())
}

/// A loopback port that was free a moment ago (the OS picks it).
fn free_loopback_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("looking for a free port on 127.0.0.1")?;
    Ok(listener
        .local_addr()
        .context("reading the free port")?
        .port())
}

/// Whether something at `addr` answers `GET /` with an HTTP status line.
fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut head = [0; 12];
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .is_ok()
        && stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && is_status_line(&head)
}

/// "HTTP/1.x NNN": any status will do, the server is up.
fn is_status_line(head: &[u8]) -> bool {
    head.len() >= 12
        && head.starts_with(b"HTTP/1.")
        && head[8] == b' '
        && head[9..12].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_postgres_wins() {
        let check = |names: &[&str], expected: Option<&str>| {
            assert_eq!(
                highest_version(names.iter().copied()),
                expected,
                "{names:?}"
            );
        };
        check(&["15"], Some("15"));
        check(&["9.6", "15", "13"], Some("15"));
        check(&["16", "9.6", "10"], Some("16"));
        check(&["9.6", "9.10"], Some("9.10"));
        check(&["common", "15", ".hidden", "17beta"], Some("15"));
        check(&["lib", ""], None);
        check(&[], None);
    }

    #[test]
    fn long_socket_paths_are_refused() {
        assert!(socket_path_fits(
            Path::new("/work/main/target/tools/pg"),
            65535
        ));
        let deep = format!("/{}", "d".repeat(95));
        assert!(socket_path_fits(Path::new(&deep), 1));
        assert!(!socket_path_fits(Path::new(&deep), 65535));
    }

    #[test]
    fn fallback_dirs_differ_per_checkout() {
        let a = fallback_dir_name(Path::new("/root/coffre"));
        assert_eq!(a, fallback_dir_name(Path::new("/root/coffre")));
        assert_ne!(a, fallback_dir_name(Path::new("/root/coffre2")));
        assert!(a.starts_with("coffre-xtask-pg-"));
    }

    #[test]
    fn http_status_lines() {
        assert!(is_status_line(b"HTTP/1.1 200"));
        assert!(is_status_line(b"HTTP/1.0 403"));
        assert!(!is_status_line(b"HTTP/1.1 2xx"));
        assert!(!is_status_line(b"SSH-2.0-Open"));
        assert!(!is_status_line(b"HTTP/1.1"));
    }

    #[test]
    fn the_s3_readiness_check_needs_an_http_answer() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            for reply in [
                &b"SSH-2.0-OpenSSH\r\n"[..],
                b"HTTP/1.1 403 FORBIDDEN\r\n\r\n",
            ] {
                let (mut stream, _) = listener.accept().unwrap();
                // The whole request: closing on unread bytes would reset.
                let mut request = Vec::new();
                while !request.ends_with(b"\r\n\r\n") {
                    let mut byte = [0];
                    stream.read_exact(&mut byte).unwrap();
                    request.push(byte[0]);
                }
                assert!(request.starts_with(b"GET / HTTP/1.1\r\n"));
                stream.write_all(reply).unwrap();
            }
        });
        assert!(!answers_http(addr));
        assert!(answers_http(addr));
        server.join().unwrap();
    }
}
