//! schemathesis against `/api/openapi.json` of a running `coffre serve
//! --demo`: once as the demo university, once as a signed-in student. No
//! request may get a 5xx.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coffre_api::{ChooseEmail, Complete, Identify, SafeChoice, VerifyEmail};

use crate::{coffre, printed};

fn schemathesis() -> Option<PathBuf> {
    match std::env::var_os("COFFRE_SCHEMATHESIS") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var("COFFRE_REQUIRE_EXTERNAL").as_deref() == Ok("1") => {
            panic!("COFFRE_SCHEMATHESIS is required (run through cargo xtask test)")
        }
        None => {
            eprintln!("skipped: schemathesis (COFFRE_SCHEMATHESIS not set)");
            None
        }
    }
}

#[test]
fn no_server_error_for_any_generated_request() {
    let Some(fuzzer) = schemathesis() else { return };
    let tmp = tempfile::TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = coffre()
        .args([
            "serve",
            "--demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The demo prints the API key and the students' codes, then listens.
    let mut key = String::new();
    let mut first_code = String::new();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(k) = line.split("API key: ").nth(1) {
            key = k.trim().to_owned();
        }
        if line.trim_start().starts_with("20250001") {
            first_code = line.split_whitespace().last().unwrap().to_owned();
        }
        if line.contains("is listening") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    assert!(!key.is_empty() && !first_code.is_empty());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let session = rt.block_on(async {
        let anon = coffre_api::Client::new(&url).unwrap();
        let who = anon
            .identify(&Identify {
                student_number: "20250001".into(),
                activation_code: first_code,
            })
            .await
            .unwrap();
        let t = who.activation_token;
        anon.choose_email(&ChooseEmail {
            activation_token: t.clone(),
            email: "camille@example.org".into(),
        })
        .await
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let code = loop {
            let found = std::fs::read_dir(data.join("outbox"))
                .unwrap()
                .find_map(|e| {
                    let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
                    text.find("code is: ")
                        .map(|at| text[at + 9..at + 15].to_owned())
                });
            if let Some(c) = found {
                break c;
            }
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(50));
        };
        anon.verify_email(&VerifyEmail {
            activation_token: t.clone(),
            code,
        })
        .await
        .unwrap();
        anon.complete(&Complete {
            activation_token: t,
            safe: SafeChoice::New {
                password: "fuzzing passphrase".into(),
            },
        })
        .await
        .unwrap()
        .token
    });

    let mut total = 0;
    for (who, token) in [
        ("organisation", key.as_str()),
        ("student", session.as_str()),
    ] {
        let out = Command::new(&fuzzer)
            // Its cache (.schemathesis/) goes there, not into the sources.
            .current_dir(tmp.path())
            .arg("run")
            .arg(format!("{url}/api/openapi.json"))
            .args([
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "25",
                "--seed",
                "1",
                "--suppress-health-check",
                "all",
            ])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "schemathesis as the {who} found problems:\n{}",
            printed(&out)
        );
        let generated: usize = text
            .lines()
            .find_map(|l| {
                l.trim()
                    .split(" generated")
                    .next()
                    .filter(|_| l.contains(" generated"))
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or_else(|| panic!("no count in:\n{text}"));
        eprintln!("schemathesis as the {who}: {generated} requests, no server error");
        total += generated;
    }
    eprintln!("schemathesis: {total} requests in all");
    assert!(total > 500);
    server.kill().unwrap();
    server.wait().unwrap();
}
