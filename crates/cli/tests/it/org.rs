//! `coffre org` against a running `coffre serve`: rosters checked whole,
//! codes written for the intranet, statuses, refusals, former students,
//! re-issued codes.

use serde_json::Value;

use crate::{coffre, printed, run, run_ok, start_server, wait_ready};

#[test]
fn the_registrar_manages_the_roster_from_the_command_line() {
    let tmp = tempfile::TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let port = crate::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = start_server(&data, port);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(wait_ready(&url));
    let out = run_ok(
        coffre()
            .args([
                "admin",
                "org",
                "create",
                "--name",
                "Université Démo",
                "--domain",
                "univ-demo.example",
                "--data-dir",
            ])
            .arg(&data)
            .arg("--out")
            .arg(tmp.path().join("keys")),
    );
    let key = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.split("keep it secret): ").nth(1).map(str::to_owned))
        .unwrap();
    let org = |args: &[&str]| {
        let mut cmd = coffre();
        cmd.args(["org", "--server", &url])
            .env("COFFRE_ORG_API_KEY", key.trim())
            .args(args);
        cmd
    };

    // A bad roster is refused whole, with its line numbers, before anything is sent.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "A1,Dupont,Camille,2004-02-30,c@univ-demo.example\nA2,Martin,Lucas,2004-01-01,lucas\nA3,Roux,Léa,2004-01-01,lea@univ-demo.example\n").unwrap();
    let out = run(&mut org(&["import-roster", bad.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1") && err.contains("line 2") && !err.contains("line 3"),
        "{err}"
    );
    let st: Value =
        serde_json::from_slice(&run_ok(&mut org(&["status", "--json", "A3"])).stdout).unwrap();
    assert_eq!(st[0]["status"], "not_provisioned", "nothing was imported");

    // A sample roster imports; the codes land in a CSV; a re-run changes nothing.
    let roster = tmp.path().join("roster.csv");
    run_ok(&mut org(&[
        "sample-roster",
        "25",
        "-o",
        roster.to_str().unwrap(),
    ]));
    let out = run_ok(&mut org(&["import-roster", roster.to_str().unwrap()]));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("25 safes pre-created"),
        "{}",
        printed(&out)
    );
    let codes = std::fs::read_to_string(tmp.path().join("roster-codes.csv")).unwrap();
    assert_eq!(codes.lines().count(), 26);
    let out = run_ok(&mut org(&["import-roster", roster.to_str().unwrap()]));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("0 safes pre-created, 0 refusals recorded, 25 unchanged"));

    let first = codes
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let second = codes
        .lines()
        .nth(2)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let out = run_ok(&mut org(&["reissue-code", &first]));
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.starts_with(&format!("{first},")) && line.trim().len() == first.len() + 15,
        "{line}"
    );
    run_ok(&mut org(&["former", &first]));
    run_ok(&mut org(&["refuse", &second]));
    let out = run(&mut org(&["refuse", "NOBODY"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No student NOBODY"),
        "{}",
        printed(&out)
    );
    let st: Value =
        serde_json::from_slice(&run_ok(&mut org(&["status", "--json", &first, &second])).stdout)
            .unwrap();
    assert_eq!(
        (st[0]["status"].as_str(), st[0]["former"].as_bool()),
        (Some("pre_created"), Some(true))
    );
    assert_eq!(st[1]["status"], "refused");
    let table = String::from_utf8(run_ok(&mut org(&["status", &first])).stdout).unwrap();
    assert!(
        table.contains("pre_created") && table.contains("yes"),
        "{table}"
    );

    // Without a key: a clear usage error.
    let out = run(coffre()
        .args(["org", "--server", &url, "status", "X"])
        .env_remove("COFFRE_ORG_API_KEY"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("API key"));
    server.kill().unwrap();
    server.wait().unwrap();
}
