//! `cargo xtask test`, and the external validators the interop tests run:
//! poppler's pdfsig with NSS's certutil (Debian packages) and pyHanko (a
//! project-local venv under target/tools, pinned versions).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{cargo, on_path, output, root, run, target_dir};

/// pyHanko and its CLI, pinned: the interop tests read their output.
const PYTHON_PACKAGES: [&str; 3] = [
    "pyHanko==0.38.0",
    "pyhanko-certvalidator==0.33.0",
    "pyhanko-cli==0.6.0",
];

/// Debian packages and the programs each must put on PATH.
const DEBIAN_PACKAGES: [(&str, &[&str]); 2] = [
    ("poppler-utils", &["pdfsig", "pdftoppm"]),
    ("libnss3-tools", &["certutil"]),
];

/// The external validators found after provisioning.
#[derive(Debug)]
pub struct Tools {
    /// pdfsig and certutil are both on PATH.
    pub pdfsig: bool,
    /// The venv's Python, with pyHanko importable.
    pub python: Option<PathBuf>,
    /// The venv's `pyhanko` command.
    pub pyhanko: Option<PathBuf>,
    /// Everything was installed or found by us: a missing tool is then a
    /// failure for the tests, not a reason to skip.
    pub required: bool,
}

/// `cargo xtask test`.
pub fn test() -> Result<()> {
    let root = root()?;
    let tools = provision(&root)?;

    println!("== running tests");
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
    if tools.required {
        cmd.env("COFFRE_REQUIRE_EXTERNAL", "1");
    }
    run(&mut cmd).context("tests failed")
}

/// Installs what is missing where we can (Linux with apt-get, as root or
/// through sudo), then reports what is there.
pub fn provision(root: &Path) -> Result<Tools> {
    let venv = target_dir(root).join("tools").join("venv");
    let can_install = match installer() {
        Ok(installer) => {
            install(&installer, &venv)?;
            true
        }
        Err(reason) => {
            println!("== skipping installs: {reason}");
            false
        }
    };

    let pdfsig = on_path("pdfsig").is_some() && on_path("certutil").is_some();
    let (python, pyhanko) = (venv_bin(&venv, "python"), venv_bin(&venv, "pyhanko"));
    let pyhanko_ready = python.is_file() && pyhanko.is_file() && pyhanko_importable(&python);
    let tools = Tools {
        pdfsig,
        python: pyhanko_ready.then_some(python),
        pyhanko: pyhanko_ready.then_some(pyhanko),
        required: can_install,
    };
    if tools.required && !(tools.pdfsig && pyhanko_ready) {
        bail!("the external validators are still missing after installing them");
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
    let is_root = output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    if is_root {
        Ok(Installer { sudo: false })
    } else if on_path("sudo").is_some() {
        Ok(Installer { sudo: true })
    } else {
        Err("not root and no sudo: cannot run apt-get".into())
    }
}

fn install(installer: &Installer, venv: &Path) -> Result<()> {
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
        run(&mut apt(installer, &args)).context("installing the external validators")?;
    }
    if !venv_ok {
        make_venv(venv)?;
    }

    let python = venv_bin(venv, "python");
    if !(pyhanko_importable(&python) && venv_bin(venv, "pyhanko").is_file()) {
        println!(
            "== installing {} into {}",
            PYTHON_PACKAGES.join(" "),
            venv.display()
        );
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PYTHON_PACKAGES))
        .context("installing pyHanko into the venv")?;
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

fn dpkg_installed(package: &str) -> bool {
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
    let mut check = String::from(
        "import importlib.metadata as m\nimport pyhanko.sign, pyhanko_certvalidator, pyhanko.cli\n",
    );
    for pin in PYTHON_PACKAGES {
        if let Some((name, version)) = pin.split_once("==") {
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
