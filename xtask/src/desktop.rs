//! The desktop app's tools: the UI (npm ci, svelte-check, Vitest, the Vite
//! build the app embeds), `tauri-driver`, and a desktop session for the
//! WebDriver suite: `setsid dbus-run-session` with an unlocked
//! gnome-keyring and a virtual display (xvfb-run), all stopped with the
//! process group afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{cargo, is_executable, on_path, output, run, target_dir};

/// Pinned: the WebDriver suite is written against it.
const TAURI_DRIVER: &str = "2.1.0";
/// Vite 8 and the Svelte plugin need Node 20.19 or later.
const NODE_MIN: (u32, u32) = (20, 19);

/// `npm` (`npm.cmd` on Windows).
fn npm() -> Command {
    Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" })
}

/// Fails with what to install unless Node ≥ 20.19 and npm are there.
pub fn check_node() -> Result<()> {
    let version = output(Command::new("node").arg("--version")).context(
        "Node.js is needed to build the app's UI: install Node 20.19 or later (https://nodejs.org)",
    )?;
    let parts: Vec<u32> = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    let (major, minor) = (
        parts.first().copied().unwrap_or(0),
        parts.get(1).copied().unwrap_or(0),
    );
    if (major, minor) < NODE_MIN {
        bail!(
            "Node {} is too old for the app's UI (Vite 8): install Node {}.{} or later",
            version.trim(),
            NODE_MIN.0,
            NODE_MIN.1
        );
    }
    if on_path(if cfg!(windows) { "npm.cmd" } else { "npm" }).is_none() {
        bail!("npm is needed to build the app's UI: it comes with Node.js");
    }
    Ok(())
}

/// `npm ci` (exactly the lock file's packages), then the UI's checks when
/// `checks`, then the build the app embeds (`ui/dist`).
pub fn build_ui(root: &Path, checks: bool) -> Result<()> {
    check_node()?;
    let ui = root.join("ui");
    println!("== installing the UI's packages (npm ci)");
    run(npm()
        .current_dir(&ui)
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"]))
    .context("npm ci in ui/")?;
    if checks {
        println!("== checking the UI (svelte-check, accessibility warnings as errors)");
        run(npm().current_dir(&ui).args(["run", "check"])).context("svelte-check")?;
        println!("== testing the UI's logic (Vitest)");
        run(npm().current_dir(&ui).args(["test"])).context("the UI's tests")?;
    }
    println!("== building the UI (Vite)");
    run(npm().current_dir(&ui).args(["run", "build"])).context("building the UI")?;
    Ok(())
}

/// `tauri-driver`, installed into `target/tools/tauri-driver` if missing.
pub fn tauri_driver(root: &Path) -> Result<PathBuf> {
    let dir = target_dir(root).join("tools").join("tauri-driver");
    let bin = dir.join("bin").join(crate::exe("tauri-driver"));
    if is_executable(&bin) {
        return Ok(bin);
    }
    println!("== installing tauri-driver {TAURI_DRIVER}");
    run(cargo()
        .args([
            "install",
            "--locked",
            "--quiet",
            "tauri-driver",
            "--version",
            TAURI_DRIVER,
            "--root",
        ])
        .arg(&dir))
    .context("cargo install tauri-driver")?;
    Ok(bin)
}

/// Debian's WebKitWebDriver, when installed.
pub fn webkit_driver() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/WebKitWebDriver");
    is_executable(&p)
        .then_some(p)
        .or_else(|| on_path("WebKitWebDriver"))
}

/// Whether this machine can run a desktop session for the suite.
pub fn session_tools() -> bool {
    [
        "dbus-run-session",
        "xvfb-run",
        "gnome-keyring-daemon",
        "setsid",
    ]
    .iter()
    .all(|p| on_path(p).is_some())
}

/// `inner` wrapped in a desktop session of its own (`setsid`: a process
/// group that [`stop_group`] ends whole): a D-Bus session, gnome-keyring
/// unlocked with a throwaway password in `state` (XDG folders there, so
/// nothing of the machine's own session is touched), and a virtual
/// display.
pub fn in_session(state: &Path, inner: &Command) -> Result<Command> {
    crate::fresh_dir(state)?;
    let (data, cache, config, runtime) = (
        state.join("data"),
        state.join("cache"),
        state.join("config"),
        state.join("run"),
    );
    for d in [&data, &cache, &config, &runtime] {
        std::fs::create_dir_all(d)?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))?;
    }
    let script = format!(
        "printf '%s' coffre-tests | gnome-keyring-daemon --unlock --components=secrets >/dev/null && \
         exec xvfb-run -a -s '-screen 0 1920x1200x24 -nolisten tcp' {}",
        crate::show(inner)
    );
    let mut cmd = Command::new("setsid");
    cmd.args(["dbus-run-session", "--", "sh", "-c", &script])
        .env("XDG_DATA_HOME", &data)
        .env("XDG_CACHE_HOME", &cache)
        .env("XDG_CONFIG_HOME", &config)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY");
    if let Some(dir) = inner.get_current_dir() {
        cmd.current_dir(dir);
    }
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    Ok(cmd)
}

/// Ends the process group `pgid` (what a session left running: its bus,
/// gnome-keyring, the accessibility bus, Xvfb).
pub fn stop_group(pgid: u32) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .status();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(std::process::Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    let _ = pgid;
}
