//! `cargo xtask run`: builds `coffre` and starts the service on its
//! embedded defaults (SQLite, a blob folder and an e-mail outbox under
//! target/demo/data) with the demo university, its three students and
//! their sealed documents. Runs until Ctrl-C; running it again keeps the
//! same data.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{build_coffre, root, run};

const LISTEN: &str = "127.0.0.1:8080";

pub fn run_demo() -> Result<()> {
    let root = root()?;
    println!("== building coffre");
    let coffre = build_coffre(&root, false)?;
    std::env::set_current_dir(&root).with_context(|| format!("entering {}", root.display()))?;
    let data = Path::new("target/demo/data");
    // The service refuses a data directory others can read; the demo's
    // may come from a version that made it open.
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", data.display()))?;
    }
    let shown = coffre
        .strip_prefix(&root)
        .unwrap_or(&coffre)
        .display()
        .to_string();

    println!("== starting Coffre with its demo data (Ctrl-C stops it)");
    println!(
        "\nWhile it runs, from another terminal:\n\
         \x20 curl -s http://{LISTEN}/api/v1/trust                     # the operator's root and CRLs\n\
         \x20 curl -s -X POST http://{LISTEN}/api/v1/activation/identify -H 'Content-Type: application/json' \\\n\
         \x20      -d '{{\"student_number\":\"20250001\",\"activation_code\":\"<code printed below>\"}}'\n\
         \x20 ls {data}/outbox                              # e-mails, with their codes\n\
         \x20 {shown} verify --trust {data}/operator/root.pem --lang fr <a downloaded document>\n",
        data = data.display()
    );
    run(Command::new(&coffre)
        .arg("serve")
        .arg("--demo")
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", LISTEN]))
    .context("running coffre serve")
}
