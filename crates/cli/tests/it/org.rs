//! `coffre org` against a running `coffre serve`: rosters checked whole,
//! codes written for the intranet, statuses, refusals, former students,
//! re-issued codes.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use coffre_api::KnownDeposit;
use serde_json::Value;

use crate::{coffre, printed, run, run_ok, Service};

#[test]
fn the_registrar_manages_the_roster_from_the_command_line() {
    let svc = Service::start("Université Démo", "univ-demo.example");
    let tmp = &svc.tmp;
    let org = |args: &[&str]| svc.org(args);

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
        .args(["org", "--server", &svc.url, "status", "X"])
        .env_remove("COFFRE_ORG_API_KEY"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("API key"));
}

#[test]
fn deposit_is_idempotent_and_reports_every_row() {
    let svc = Service::start("Université Dépôt", "depot.example");
    let tmp = &svc.tmp;
    let org = |args: &[&str]| svc.org(args);
    let roster = tmp.path().join("roster.csv");
    std::fs::write(&roster, "D1,Roux,Léa,2004-01-01,lea@depot.example\nD2,Petit,Hugo,2004-01-01,hugo@depot.example\nD3,Morel,Rose,2004-01-01,rose@depot.example,1\n").unwrap();
    run_ok(&mut org(&["import-roster", roster.to_str().unwrap()]));
    let docs = tmp.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    for (i, name) in ["d1.pdf", "d1-cert.pdf", "d2.pdf", "d3.pdf", "d9.pdf"]
        .iter()
        .enumerate()
    {
        std::fs::write(
            docs.join(name),
            crate::sample::transcript_pdf(i as u64, "Student"),
        )
        .unwrap();
    }
    let manifest = tmp.path().join("manifest.csv");
    let deposit = |m: &std::path::Path| svc.deposit(m, &["--level", "b-t"]);

    // A bad manifest: nothing is sealed or sent.
    std::fs::write(&manifest, "D1,docs/d1.pdf,bulletin,Relevé,2025-2026\nD2,docs/missing.pdf,transcript,Relevé,2025-2026\n").unwrap();
    let out = run(&mut deposit(&manifest));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1") && err.contains("line 2") && err.contains("nothing was deposited"),
        "{err}"
    );

    std::fs::write(
        &manifest,
        "student_number,file,kind,title,academic_year\n\
         D1,docs/d1.pdf,transcript,Relevé de notes,2025-2026\n\
         D1,docs/d1-cert.pdf,certificate_of_achievement,Attestation de réussite,2025-2026\n\
         D2,docs/d2.pdf,transcript,Relevé de notes,2025-2026\n\
         D3,docs/d3.pdf,transcript,Relevé de notes,2025-2026\n\
         D9,docs/d9.pdf,transcript,Relevé de notes,2025-2026\n",
    )
    .unwrap();
    // Refused and unknown students are reported, not fatal.
    let out = run(&mut deposit(&manifest));
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("3 deposited, 0 skipped (already there), 2 refused"),
        "{}",
        printed(&out)
    );
    let report = std::fs::read_to_string(tmp.path().join("manifest-report.csv")).unwrap();
    let outcomes: Vec<&str> = report
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["deposited", "deposited", "deposited", "refused", "refused"],
        "{report}"
    );
    assert!(
        report.contains("refused a safe") && report.contains("No student D9"),
        "{report}"
    );

    // Run again (as after an interruption): nothing is deposited twice.
    let out = run(&mut deposit(&manifest));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("0 deposited, 3 skipped (already there), 2 refused"),
        "{}",
        printed(&out)
    );
    let st: Value =
        serde_json::from_slice(&run_ok(&mut org(&["status", "--json", "D1"])).stdout).unwrap();
    assert_eq!(st[0]["status"], "pre_created");
}

#[test]
fn a_seal_key_the_operator_did_not_certify_stops_the_run_before_anything_is_sent() {
    let svc = Service::start("Université Dépôt", "depot.example");
    let (manifest, sources) = sample_deposit(&svc, 3);
    // A PKI of its own, not the one `coffre admin org create` issued.
    let other = crate::Pki::init();
    let out = run(svc
        .org(&["deposit", "--manifest", manifest.to_str().unwrap()])
        .arg("--key")
        .arg(other.file("seal.key.pem"))
        .arg("--cert")
        .arg(other.file("seal.pem"))
        .arg("--chain")
        .arg(other.file("chain.pem")));
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not validate with the Coffre operator's root")
            && err.contains("nothing was deposited"),
        "{err}"
    );
    assert_eq!(known(&svc, &sources), 0);
}

#[test]
fn one_original_for_every_student_is_deposited_for_each() {
    let svc = Service::start("Université Dépôt", "depot.example");
    let tmp = &svc.tmp;
    let roster = tmp.path().join("roster.csv");
    std::fs::write(
        &roster,
        "D1,Roux,Léa,2004-01-01,lea@depot.example
D2,Petit,Hugo,2004-01-01,hugo@depot.example
",
    )
    .unwrap();
    run_ok(&mut svc.org(&["import-roster", roster.to_str().unwrap()]));
    std::fs::write(
        tmp.path().join("rules.pdf"),
        crate::sample::transcript_pdf(7, "Règlement des études"),
    )
    .unwrap();
    let row = |s: &str| format!("{s},rules.pdf,other,Règlement des études,2025-2026\n");
    // A run that stopped after D1's copy; the next run must still deposit D2's.
    let first = tmp.path().join("first.csv");
    std::fs::write(&first, row("D1")).unwrap();
    let out = run_ok(&mut svc.deposit(&first, &[]));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("1 deposited, 0 skipped"));
    let all = tmp.path().join("all.csv");
    std::fs::write(&all, row("D1") + &row("D2")).unwrap();
    let out = run_ok(&mut svc.deposit(&all, &[]));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("1 deposited, 1 skipped"),
        "{}",
        printed(&out)
    );
}

/// `n` sample students imported and their transcripts written: the
/// manifest, and each row's student and original's SHA-256.
fn sample_deposit(svc: &Service, n: usize) -> (std::path::PathBuf, Vec<KnownDeposit>) {
    let roster = svc.tmp.path().join("roster.csv");
    let docs = svc.tmp.path().join("docs");
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    run_ok(&mut svc.org(&["sample-roster", &n.to_string(), "-o", &path(&roster)]));
    run_ok(&mut svc.org(&["import-roster", &path(&roster)]));
    run_ok(&mut svc.org(&["sample-transcripts", &path(&roster), &path(&docs)]));
    let manifest = docs.join("manifest.csv");
    let sources = std::fs::read_to_string(&manifest)
        .unwrap()
        .lines()
        .skip(1)
        .map(|row| {
            let fields: Vec<&str> = row.split(',').collect();
            let file = docs.join(fields[1]);
            KnownDeposit {
                student_number: fields[0].to_owned(),
                source_sha256: coffre_seal::hex(&coffre_seal::sha256(
                    &std::fs::read(file).unwrap(),
                )),
            }
        })
        .collect();
    (manifest, sources)
}

/// How many of `sources` the server holds.
fn known(svc: &Service, sources: &[KnownDeposit]) -> usize {
    let client = coffre_api::Client::new(&svc.url)
        .unwrap()
        .with_token(&svc.key);
    svc.rt
        .block_on(client.known_deposits(sources.to_vec()))
        .unwrap()
        .len()
}

/// Waits until the server holds at least `at_least` of `sources` while
/// `run` is still going.
fn wait_for_deposits(svc: &Service, sources: &[KnownDeposit], at_least: usize, run: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while known(svc, sources) < at_least {
        assert!(Instant::now() < deadline, "nothing deposited");
        assert!(
            run.try_wait().unwrap().is_none(),
            "the run ended before it could be interrupted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// (deposited, skipped, refused) from the summary line.
fn summary(stdout: &[u8]) -> (usize, usize, usize) {
    let text = String::from_utf8_lossy(stdout);
    let count = |what: &str| -> usize {
        let before = text.split(what).next().unwrap();
        let n = before.rsplit([' ', ',']).find(|w| !w.is_empty()).unwrap();
        n.parse()
            .unwrap_or_else(|_| panic!("no count before {what:?} in {text}"))
    };
    (count(" deposited"), count(" skipped"), count(" refused"))
}

#[test]
fn a_deposit_run_killed_midway_is_finished_by_running_it_again() {
    let svc = Service::start("Université Démo", "univ-demo.example");
    let (manifest, sources) = sample_deposit(&svc, 300);
    let deposit = || svc.deposit(&manifest, &["--jobs", "4"]);

    // Kill the first run once some documents are in.
    let mut first = deposit()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_deposits(&svc, &sources, 5, &mut first);
    first.kill().unwrap();
    first.wait().unwrap();
    let after_kill = known(&svc, &sources);
    assert!(after_kill < 300, "the run was not cut short");

    // Again: it finishes what is missing, and only that.
    let out = run_ok(&mut deposit());
    let (deposited, skipped, refused) = summary(&out.stdout);
    assert_eq!(
        (deposited + skipped, refused),
        (300, 0),
        "{}",
        printed(&out)
    );
    assert!(skipped >= after_kill, "{}", printed(&out));
    assert_eq!(known(&svc, &sources), 300);
    // And once more: nothing to do.
    let out = run_ok(&mut deposit());
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("0 deposited, 300 skipped (already there), 0 refused"));
}

#[test]
fn a_server_gone_midway_stops_the_run_and_a_rerun_finishes_it() {
    let mut svc = Service::start("Université Démo", "univ-demo.example");
    let (manifest, sources) = sample_deposit(&svc, 300);
    let report = svc.tmp.path().join("report.csv");
    let report_arg = report.to_str().unwrap().to_owned();
    let deposit = |svc: &Service| svc.deposit(&manifest, &["--jobs", "4", "--report", &report_arg]);

    let mut first = deposit(&svc)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_deposits(&svc, &sources, 5, &mut first);
    svc.server.kill().unwrap();
    svc.server.wait().unwrap();

    // The run ends by itself, says what is left and how to finish it, and
    // fails; the report marks those rows as not done.
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    let (deposited, skipped, refused) = summary(&out.stdout);
    assert_eq!((skipped, refused), (0, 0), "{}", printed(&out));
    assert!((5..300).contains(&deposited), "{}", printed(&out));
    let said = printed(&out);
    assert!(
        said.contains(&format!("{} not done", 300 - deposited)),
        "{said}"
    );
    assert!(said.contains("run the same command again"), "{said}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(text.matches(",deposited,").count(), deposited, "{text}");
    assert_eq!(
        text.matches(",not done,").count(),
        300 - deposited,
        "{text}"
    );

    // The server comes back; the same command finishes the job.
    svc.server = crate::start_server(&svc.data, svc.port);
    svc.rt.block_on(crate::wait_ready(&svc.url));
    let out = run_ok(&mut deposit(&svc));
    // A deposit the server recorded just before it died, whose answer never
    // came back, counts as not done in the first run and as skipped now.
    let (again, skipped, refused) = summary(&out.stdout);
    assert_eq!((again + skipped, refused), (300, 0), "{}", printed(&out));
    assert!(skipped >= deposited, "{}", printed(&out));
    assert_eq!(known(&svc, &sources), 300);
}

#[test]
fn the_status_command_agrees_with_the_student_side() {
    use coffre_api::{AccountState, StatusQuery};

    let svc = Service::start("Université Démo", "univ-demo.example");
    let roster = svc.tmp.path().join("roster.csv");
    std::fs::write(&roster, "S1,Roux,Léa,2004-01-01,lea@univ-demo.example\nS2,Petit,Hugo,2004-02-02,hugo@univ-demo.example\n").unwrap();
    run_ok(&mut svc.org(&["import-roster", roster.to_str().unwrap()]));
    let codes = std::fs::read_to_string(svc.tmp.path().join("roster-codes.csv")).unwrap();
    let code = codes
        .lines()
        .find(|l| l.starts_with("S1,"))
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_owned();

    // Léa finalises her safe as a student would.
    let anon = coffre_api::Client::new(&svc.url).unwrap();
    svc.rt.block_on(crate::finalise(
        &anon,
        &svc.data,
        "S1",
        code,
        "lea.roux@example.org",
        "status passphrase",
    ));

    // What the registrar's command says is what the student's own check says.
    let org_view: Value =
        serde_json::from_slice(&run_ok(&mut svc.org(&["status", "--json", "S1", "S2"])).stdout)
            .unwrap();
    for (number, last, born) in [("S1", "Roux", "2004-01-01"), ("S2", "Petit", "2004-02-02")] {
        let own = svc
            .rt
            .block_on(anon.account_status(&StatusQuery {
                student_number: number.into(),
                last_name: last.into(),
                birth_date: born.into(),
            }))
            .unwrap();
        let org_row = org_view
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["student_number"] == number)
            .unwrap();
        assert_eq!(
            org_row["status"],
            serde_json::to_value(own[0].status).unwrap(),
            "{number}"
        );
        assert_eq!(
            org_row["masked_email"],
            serde_json::to_value(&own[0].masked_email).unwrap(),
            "{number}"
        );
    }
    assert_eq!(
        org_view[0]["status"],
        serde_json::to_value(AccountState::Finalised).unwrap()
    );
    assert_eq!(org_view[0]["masked_email"], "l•••••••@example.org");
    assert_eq!(org_view[1]["status"], "pre_created");
}

/// A proxy in front of the server answers 502 with a page of its own: the
/// client reports the status (so a bulk run retries, then stops), not an
/// unreadable answer (which would count as a refusal).
#[test]
fn a_proxy_error_page_keeps_its_status() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let proxy = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = conn.read(&mut request).unwrap();
        conn.write_all(
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 21\r\n\
              Connection: close\r\n\r\n<h1>Bad Gateway</h1>\n",
        )
        .unwrap();
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(coffre_api::Client::new(&url).unwrap().trust())
        .unwrap_err();
    proxy.join().unwrap();
    match &err {
        coffre_api::Error::Api {
            status,
            code,
            message,
            ..
        } => {
            assert_eq!(*status, 502);
            assert_eq!(*code, coffre_api::ErrorCode::Internal);
            assert!(message.contains("Bad Gateway"), "{message}");
        }
        other => panic!("not an API error: {other}"),
    }
}
