//! `cargo xtask run`: builds the UI, `coffre` and the desktop app, starts
//! the service on its embedded defaults (SQLite, a blob folder and an
//! e-mail outbox under target/demo/data) with the demo university, its
//! three students and their sealed documents, on a free loopback port,
//! and opens the app on it. Prints a demo student's number and activation
//! code and where the e-mailed codes appear. Stops the service when the
//! app is closed (or at Ctrl-C); running it again keeps the same data.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::{build_coffre, cargo, root, run, target_dir};

pub fn run_demo() -> Result<()> {
    let root = root()?;
    crate::desktop::build_ui(&root, false)?;
    println!("== building coffre and the desktop app");
    let coffre = build_coffre(&root, false)?;
    run(cargo()
        .current_dir(&root)
        .args(["build", "-p", "coffre-desktop"]))
    .context("building the desktop app")?;
    let app = target_dir(&root)
        .join("debug")
        .join(crate::exe("coffre-desktop"));

    let demo = target_dir(&root).join("demo");
    let data = demo.join("data");
    // The service refuses a data directory others can read; the demo's
    // may come from a version that made it open.
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", data.display()))?;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("http://127.0.0.1:{port}");
    println!("== starting Coffre with its demo data on {url}");
    let mut server = Command::new(&coffre)
        .args([
            "serve",
            "--demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting coffre serve")?;
    let mut lines = BufReader::new(
        server
            .stdout
            .take()
            .context("no output from coffre serve")?,
    )
    .lines();
    for line in lines.by_ref() {
        let line = line?;
        println!("   {line}");
        if line.contains("is listening") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    println!(
        "\nIn the app: « Finaliser mon coffre », then a student number and activation code above.\n\
         The 6-digit codes the service e-mails are .eml files in {}\n",
        shown(&root, &data.join("outbox"))
    );

    let headless = cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none();
    let outcome = if headless {
        println!(
            "== no display here: the app cannot open. The service keeps running for \
             {}; Ctrl-C stops it.",
            shown(&root, &app)
        );
        server.wait().map(|_| ()).context("running coffre serve")
    } else {
        println!("== opening the app (closing it stops the service)");
        let status = Command::new(&app)
            .env("COFFRE_SERVER_URL", &url)
            .env("COFFRE_DATA_DIR", demo.join("app"))
            .status()
            .context("starting the desktop app");
        let _ = server.kill();
        let _ = server.wait();
        status.map(|_| ())
    };
    outcome
}

fn shown(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}
