//! `cargo xtask test`, the external validators the interop tests run —
//! poppler's pdfsig with NSS's certutil (Debian packages) and pyHanko (a
//! project-local venv under target/tools, pinned versions) — and the
//! programs of the servers the server tests talk to: PostgreSQL (Debian's
//! package) and moto's S3 server (in the same venv). `services` runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::services::{postgres_bin_dir, TestServices, POSTGRES_URL_VAR, S3_ENDPOINT_VAR};
use crate::{cargo, is_root, on_path, output, root, run, target_dir};

/// pyHanko and its CLI, pinned: the interop tests read their output.
const PYTHON_PACKAGES: [&str; 3] = [
    "pyHanko==0.38.0",
    "pyhanko-certvalidator==0.33.0",
    "pyhanko-cli==0.6.0",
];

/// moto's S3 server, pinned: it stands in for S3 in the server tests.
const S3_SERVER_PACKAGE: &str = "moto[server]==5.2.5";

/// schemathesis, pinned: it fuzzes the service from its OpenAPI document.
const API_FUZZER_PACKAGE: &str = "schemathesis==4.32.5";

/// aiosmtpd, pinned: the SMTP server the server tests send e-mail through
/// (they start it with the venv's Python, COFFRE_PYTHON).
const SMTP_SERVER_PACKAGE: &str = "aiosmtpd==1.4.6";

/// Debian packages and the programs each must put on PATH.
const DEBIAN_PACKAGES: [(&str, &[&str]); 4] = [
    (
        "poppler-utils",
        &["pdfsig", "pdftoppm", "pdftotext", "pdftocairo"],
    ),
    ("libnss3-tools", &["certutil"]),
    // Reads the QR codes of printed copies back.
    ("zbar-tools", &["zbarimg"]),
    // Signs the verifier's foreign test vectors the way other producers do.
    ("openssl", &["openssl"]),
];

/// Debian packages the desktop app needs to build (WebKitGTK and friends)
/// and its WebDriver suite to run (a virtual display, a session bus, a
/// real keyring, Debian's WebKitWebDriver); checked with dpkg.
pub const DESKTOP_PACKAGES: [&str; 15] = [
    "libwebkit2gtk-4.1-dev",
    "build-essential",
    "libssl-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libxdo-dev",
    "pkg-config",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "dbus-x11",
    "at-spi2-core",
    "gnome-keyring",
    "libsecret-tools",
    "keyutils",
];

/// What `provision` installs and looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// pdfsig, certutil and pyHanko.
    Validators,
    /// The validators, PostgreSQL and moto's S3 server.
    ValidatorsAndServers,
}

/// The external validators and test servers found after provisioning.
#[derive(Debug)]
pub struct Tools {
    /// pdfsig and certutil are both on PATH.
    pub pdfsig: bool,
    /// The venv's Python, with pyHanko importable.
    pub python: Option<PathBuf>,
    /// The venv's `pyhanko` command.
    pub pyhanko: Option<PathBuf>,
    /// The newest PostgreSQL's server programs (`initdb`, `pg_ctl`, …).
    pub postgres_bin: Option<PathBuf>,
    /// The venv's `moto_server` command.
    pub moto_server: Option<PathBuf>,
    /// The venv's `schemathesis` command.
    pub schemathesis: Option<PathBuf>,
    /// The venv's Python runs aiosmtpd (the SMTP test server).
    pub smtp_server: bool,
    /// Everything was installed or found by us: a missing tool is then a
    /// failure for the tests, not a reason to skip.
    pub required: bool,
}

/// `cargo xtask test`.
pub fn test() -> Result<()> {
    let root = root()?;
    let tools = provision(&root, Scope::ValidatorsAndServers)?;
    // The app embeds the built UI: it comes first, with its own checks.
    crate::desktop::build_ui(&root, true)?;
    let services = TestServices::start(&root, &tools)?;

    let mut cmd = cargo();
    cmd.current_dir(&root)
        .args(["test", "--workspace", "--all-targets"]);
    if root.join("Cargo.lock").is_file() {
        cmd.arg("--locked");
    }
    if let Some(pyhanko) = &tools.pyhanko {
        cmd.env("COFFRE_PYHANKO", pyhanko);
    }
    if let Some(python) = &tools.python {
        cmd.env("COFFRE_PYTHON", python);
    }
    if let Some(schemathesis) = &tools.schemathesis {
        cmd.env("COFFRE_SCHEMATHESIS", schemathesis);
    }
    if tools.required {
        cmd.env("COFFRE_REQUIRE_EXTERNAL", "1");
    }
    cmd.envs(services.env());

    // The desktop suite drives the app this build makes, inside a desktop
    // session of its own (bus, keyring, display) that every test shares.
    let webkit = crate::desktop::webkit_driver();
    let outcome = match webkit
        .filter(|_| cfg!(target_os = "linux") && crate::desktop::session_tools())
    {
        Some(webkit) => {
            let driver = crate::desktop::tauri_driver(&root)?;
            let target = target_dir(&root);
            let screens = target.join("e2e-screens");
            crate::fresh_dir(&screens)?;
            cmd.env(
                "COFFRE_E2E_APP",
                target.join("debug").join(crate::exe("coffre-desktop")),
            )
            .env(
                "COFFRE_E2E_COFFRE",
                target.join("debug").join(crate::exe("coffre")),
            )
            .env("COFFRE_E2E_TAURI_DRIVER", &driver)
            .env("COFFRE_E2E_WEBKIT_DRIVER", &webkit)
            .env("COFFRE_E2E_SCREENS", &screens)
            .env("COFFRE_REQUIRE_KEYRING", "1");
            println!("== running tests (in a desktop session: D-Bus, gnome-keyring, Xvfb)");
            let mut session = crate::desktop::in_session(&target.join("e2e-session"), &cmd)?;
            let mut child = session
                .spawn()
                .with_context(|| format!("could not start `{}`", crate::show(&session)))?;
            let pgid = child.id();
            let status = child.wait();
            crate::desktop::stop_group(pgid);
            match status {
                Ok(s) if s.success() => {
                    println!("   screenshots of every screen: {}", screens.display());
                    Ok(())
                }
                Ok(s) => Err(anyhow::anyhow!("tests failed ({s})")),
                Err(e) => Err(anyhow::Error::new(e).context("waiting for the tests")),
            }
        }
        None => {
            println!(
                "== running tests (skipping the desktop suite: it needs Linux with WebKitWebDriver, \
                 dbus-run-session, xvfb-run and gnome-keyring)"
            );
            run(&mut cmd).context("tests failed")
        }
    };
    drop(services); // stops the servers, whether the tests passed or not
    outcome
}

/// Installs what is missing where we can (Linux with apt-get, as root or
/// through sudo), then reports what is there.
pub fn provision(root: &Path, scope: Scope) -> Result<Tools> {
    let venv = target_dir(root).join("tools").join("venv");
    let servers = scope == Scope::ValidatorsAndServers;
    let can_install = match installer() {
        Ok(installer) => {
            install(&installer, &venv, scope)?;
            true
        }
        Err(reason) => {
            println!("== skipping installs: {reason}");
            false
        }
    };

    let pdfsig = on_path("pdfsig").is_some() && on_path("certutil").is_some();
    let (python, pyhanko) = (venv_bin(&venv, "python"), venv_bin(&venv, "pyhanko"));
    let pyhanko_ready = pyhanko.is_file() && pyhanko_importable(&python);
    let postgres_bin = postgres_bin_dir().filter(|_| servers);
    let moto_server = Some(venv_bin(&venv, "moto_server"))
        .filter(|moto_server| servers && moto_server.is_file() && moto_importable(&python));
    let schemathesis = Some(venv_bin(&venv, "schemathesis"))
        .filter(|s| servers && s.is_file() && schemathesis_importable(&python));
    let smtp_server = servers && pyhanko_ready && aiosmtpd_importable(&python);
    let tools = Tools {
        schemathesis,
        smtp_server,
        pdfsig,
        python: pyhanko_ready.then_some(python),
        pyhanko: pyhanko_ready.then_some(pyhanko),
        postgres_bin,
        moto_server,
        required: can_install,
    };
    if tools.required {
        let mut missing = Vec::new();
        if !tools.pdfsig {
            missing.push("pdfsig or certutil");
        }
        if !pyhanko_ready {
            missing.push("pyHanko");
        }
        if servers && tools.postgres_bin.is_none() {
            missing.push("PostgreSQL");
        }
        if servers && tools.moto_server.is_none() {
            missing.push("moto_server");
        }
        if servers && tools.schemathesis.is_none() {
            missing.push("schemathesis");
        }
        if servers && !tools.smtp_server {
            missing.push("aiosmtpd");
        }
        if !missing.is_empty() {
            bail!("{} still missing after installing them", missing.join(", "));
        }
    }
    if !tools.pdfsig {
        println!("   pdfsig or certutil not found: the pdfsig interop checks will be skipped");
    }
    if !pyhanko_ready {
        println!(
            "   no pyHanko venv at {}: the pyHanko interop checks will be skipped",
            venv.display()
        );
    }
    if servers && tools.postgres_bin.is_none() {
        println!(
            "   no PostgreSQL in /usr/lib/postgresql: the server tests that need PostgreSQL \
             will be skipped (unless {POSTGRES_URL_VAR} names a server of yours)"
        );
    }
    if servers && tools.moto_server.is_none() {
        println!(
            "   no moto_server in {}: the server tests that need S3 will be skipped \
             (unless {S3_ENDPOINT_VAR} names an S3 endpoint of yours)",
            venv.display()
        );
    }
    Ok(tools)
}

/// How to run apt-get: directly as root, or through sudo.
#[derive(Debug)]
struct Installer {
    sudo: bool,
}

fn installer() -> std::result::Result<Installer, String> {
    if !cfg!(target_os = "linux") {
        return Err(format!(
            "{} is not Linux; install poppler's pdfsig, NSS's certutil and pyHanko yourself \
             and set COFFRE_PYHANKO and COFFRE_PYTHON to run the interop checks",
            std::env::consts::OS
        ));
    }
    if on_path("apt-get").is_none() {
        return Err(
            "no apt-get on this Linux: install pdfsig, certutil and pyHanko yourself \
                    and set COFFRE_PYHANKO and COFFRE_PYTHON to run the interop checks"
                .into(),
        );
    }
    if is_root() {
        Ok(Installer { sudo: false })
    } else if on_path("sudo").is_some() {
        Ok(Installer { sudo: true })
    } else {
        Err("not root and no sudo: cannot run apt-get".into())
    }
}

fn install(installer: &Installer, venv: &Path, scope: Scope) -> Result<()> {
    let servers = scope == Scope::ValidatorsAndServers;
    let mut missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(package, programs)| {
            programs.iter().any(|p| on_path(p).is_none()) && !dpkg_installed(package)
        })
        .map(|(package, _)| *package)
        .collect();
    for (package, programs) in DEBIAN_PACKAGES {
        if dpkg_installed(package) && programs.iter().any(|p| on_path(p).is_none()) {
            bail!("{package} is installed but {programs:?} are not all on PATH");
        }
    }
    if servers && postgres_bin_dir().is_none() {
        // Debian's and Ubuntu's supported version; its programs are under
        // /usr/lib/postgresql/<version>/bin, not on PATH.
        missing.push("postgresql");
    }
    if servers {
        missing.extend(DESKTOP_PACKAGES.iter().filter(|p| !dpkg_installed(p)));
    }
    // Debian's python3 cannot make a venv until python3-venv is installed.
    let venv_ok = on_path("python3").is_some() && make_venv(venv).is_ok();
    if on_path("python3").is_none() {
        missing.push("python3");
    }
    if !venv_ok {
        missing.push("python3-venv");
    }

    if !missing.is_empty() {
        println!("== installing {}", missing.join(" "));
        run(&mut apt(installer, &["update", "-q"])).context("apt-get update")?;
        let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
        args.extend(&missing);
        run(&mut apt(installer, &args)).context("installing the Debian packages")?;
    }
    if !venv_ok {
        make_venv(venv)?;
    }

    let python = venv_bin(venv, "python");
    let mut pins = Vec::new();
    if !(pyhanko_importable(&python) && venv_bin(venv, "pyhanko").is_file()) {
        pins.extend(PYTHON_PACKAGES);
    }
    if servers && !(moto_importable(&python) && venv_bin(venv, "moto_server").is_file()) {
        pins.push(S3_SERVER_PACKAGE);
    }
    if servers && !(schemathesis_importable(&python) && venv_bin(venv, "schemathesis").is_file()) {
        pins.push(API_FUZZER_PACKAGE);
    }
    if servers && !aiosmtpd_importable(&python) {
        pins.push(SMTP_SERVER_PACKAGE);
    }
    if !pins.is_empty() {
        println!("== installing {} into {}", pins.join(" "), venv.display());
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(&pins))
        .context("installing Python packages into the venv")?;
    }
    Ok(())
}

fn apt(installer: &Installer, args: &[&str]) -> Command {
    let mut cmd = if installer.sudo {
        let mut cmd = Command::new("sudo");
        cmd.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        cmd
    } else {
        let mut cmd = Command::new("apt-get");
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    cmd.args(args);
    cmd
}

pub fn dpkg_installed(package: &str) -> bool {
    output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_ok_and(|status| status.trim() == "install ok installed")
}

/// Creates the venv unless it already has a Python; removes a half-made one.
fn make_venv(venv: &Path) -> Result<()> {
    if venv_bin(venv, "python").is_file() {
        return Ok(());
    }
    println!("== creating the Python venv {}", venv.display());
    let status = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(venv)
        .status()
        .context("could not start python3")?;
    if !status.success() {
        // A failed `python3 -m venv` leaves a venv without pip behind.
        let _ = std::fs::remove_dir_all(venv);
        bail!("`python3 -m venv {}` failed ({status})", venv.display());
    }
    Ok(())
}

fn venv_bin(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// Whether the pinned pyHanko versions import in this interpreter.
fn pyhanko_importable(python: &Path) -> bool {
    python_has(
        python,
        "pyhanko.sign, pyhanko_certvalidator, pyhanko.cli",
        &PYTHON_PACKAGES,
    )
}

/// Whether the pinned moto, with its server, imports in this interpreter.
fn moto_importable(python: &Path) -> bool {
    python_has(python, "moto.server", &[S3_SERVER_PACKAGE])
}

/// Whether the pinned schemathesis imports in this interpreter.
fn schemathesis_importable(python: &Path) -> bool {
    python_has(python, "schemathesis", &[API_FUZZER_PACKAGE])
}

/// Whether the pinned aiosmtpd imports in this interpreter.
fn aiosmtpd_importable(python: &Path) -> bool {
    python_has(python, "aiosmtpd.handlers", &[SMTP_SERVER_PACKAGE])
}

/// Whether `python` imports `modules` and has exactly the `pins` versions.
fn python_has(python: &Path, modules: &str, pins: &[&str]) -> bool {
    let mut check = format!("import importlib.metadata as m\nimport {modules}\n");
    for pin in pins {
        if let Some((name, version)) = pin_parts(pin) {
            check.push_str(&format!("assert m.version({name:?}) == {version:?}\n"));
        }
    }
    python.is_file()
        && Command::new(python)
            .args(["-c", &check])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// A pin's distribution name and version: "moto[server]==5.2.5" is
/// ("moto", "5.2.5"); its extras are not part of the name.
fn pin_parts(pin: &str) -> Option<(&str, &str)> {
    let (name, version) = pin.split_once("==")?;
    let name = name.split_once('[').map_or(name, |(name, _)| name);
    Some((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins() {
        assert_eq!(pin_parts("pyHanko==0.38.0"), Some(("pyHanko", "0.38.0")));
        assert_eq!(pin_parts(S3_SERVER_PACKAGE), Some(("moto", "5.2.5")));
        assert_eq!(pin_parts("moto[s3,server]==5.2.5"), Some(("moto", "5.2.5")));
        assert_eq!(pin_parts("moto"), None);
        for pin in PYTHON_PACKAGES.iter().chain([&S3_SERVER_PACKAGE]) {
            assert!(pin_parts(pin).is_some(), "{pin} is not pinned");
        }
    }
}
