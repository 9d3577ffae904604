//! `coffre serve` and `coffre admin` as the operator runs them: what the
//! log holds, what other users of the machine can read, what reaches the
//! operator's terminal, and a root kept offline.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use coffre_api::{
    ChangeEmail, ChangePassword, ChooseEmail, Complete, ConfirmEmail, ConfirmPasswordReset,
    Identify, RequestPasswordReset, SafeChoice, SignIn, SupportRequest, UploadParams, VerifyEmail,
};

use crate::{coffre, emailed_code, free_port, printed, run, run_ok, wait_ready};

/// A `coffre serve` whose log goes to a file; killed when dropped.
struct Logged {
    child: Child,
    log: PathBuf,
    data: PathBuf,
    url: String,
}

impl Logged {
    fn start(root: &Path) -> Logged {
        let data = root.join("data");
        let log = root.join("serve.log");
        let port = free_port();
        let out = std::fs::File::create(&log).unwrap();
        let child = coffre()
            .arg("serve")
            .arg("--data-dir")
            .arg(&data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "debug")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Logged {
            child,
            log,
            data,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every e-mail in the outbox mentioning `to`, oldest first, waiting up to
/// 10 s for there to be more than `after`.
fn mails(data: &Path, to: &str, after: usize) -> Vec<String> {
    for _ in 0..200 {
        let mut found: Vec<(std::time::SystemTime, String)> =
            std::fs::read_dir(data.join("outbox"))
                .unwrap()
                .filter_map(|e| {
                    let p = e.unwrap().path();
                    let text = std::fs::read_to_string(&p).ok()?;
                    text.contains(&format!("To: {to}"))
                        .then(|| (p.metadata().unwrap().modified().unwrap(), text))
                })
                .collect();
        if found.len() > after {
            found.sort();
            return found.into_iter().map(|(_, t)| t).collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no new e-mail to {to}");
}

fn code_in(text: &str) -> String {
    let at = text.find("code is: ").expect("a code") + "code is: ".len();
    text[at..at + 6].to_owned()
}

/// A student's whole life in the safe, against `server`; returns every
/// secret used or handed out on the way.
fn journey(server: &Logged, keys: &Path) -> Vec<String> {
    let mut secrets = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(wait_ready(&server.url));
    let out = run_ok(
        coffre()
            .args([
                "admin",
                "org",
                "create",
                "--name",
                "Université L",
                "--domain",
                "l.example",
            ])
            .arg("--data-dir")
            .arg(&server.data)
            .arg("--out")
            .arg(keys),
    );
    let api_key = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.split("keep it secret): ")
                .nth(1)
                .map(|k| k.trim().to_owned())
        })
        .unwrap();
    secrets.push(api_key.clone());
    rt.block_on(async {
        let anon = coffre_api::Client::new(&server.url).unwrap();
        let uni = anon.with_token(&api_key);
        let created = uni
            .import_roster("L1,Roux,Léa,2004-01-01,lea@l.example\n".into())
            .await
            .unwrap()
            .created;
        let activation = created[0].activation_code.clone();
        secrets.push(activation.clone());
        let wrong = anon
            .identify(&Identify {
                student_number: "L1".into(),
                activation_code: "WRON-GCOD-EXXX".into(),
            })
            .await;
        assert!(wrong.is_err());
        let who = anon
            .identify(&Identify {
                student_number: "L1".into(),
                activation_code: activation,
            })
            .await
            .unwrap();
        secrets.push(who.activation_token.clone());
        anon.choose_email(&ChooseEmail {
            activation_token: who.activation_token.clone(),
            email: "lea@example.org".into(),
        })
        .await
        .unwrap();
        let code = emailed_code(&server.data, "lea@example.org");
        secrets.push(code.clone());
        anon.verify_email(&VerifyEmail {
            activation_token: who.activation_token.clone(),
            code,
        })
        .await
        .unwrap();
        let first_password = "first passphrase of Léa".to_owned();
        secrets.push(first_password.clone());
        let session = anon
            .complete(&Complete {
                activation_token: who.activation_token,
                safe: SafeChoice::New {
                    password: first_password.clone(),
                },
            })
            .await
            .unwrap();
        secrets.push(session.token.clone());
        let lea = anon.with_token(&session.token);
        lea.upload(
            &UploadParams {
                title: "Carte d'identité".into(),
                kind: None,
            },
            [b"%PDF-1.7\n".as_slice(), &[3u8; 2000]].concat(),
        )
        .await
        .unwrap();
        let bad = anon
            .sign_in(&SignIn {
                email: "lea@example.org".into(),
                password: "a wrong guess at it".into(),
            })
            .await;
        assert!(bad.is_err());
        secrets.push("a wrong guess at it".into());
        let second = anon
            .sign_in(&SignIn {
                email: "lea@example.org".into(),
                password: first_password.clone(),
            })
            .await
            .unwrap();
        secrets.push(second.token.clone());
        let new_password = "second passphrase of Léa".to_owned();
        secrets.push(new_password.clone());
        lea.change_password(&ChangePassword {
            current_password: first_password,
            new_password: new_password.clone(),
        })
        .await
        .unwrap();
        let seen = mails(&server.data, "lea@example.org", 0).len();
        anon.request_password_reset(&RequestPasswordReset {
            email: "lea@example.org".into(),
        })
        .await
        .unwrap();
        let reset = loop {
            let all = mails(&server.data, "lea@example.org", seen);
            if let Some(m) = all[seen..].iter().find(|m| m.contains("code is: ")) {
                break code_in(m);
            }
        };
        secrets.push(reset.clone());
        let reset_password = "third passphrase of Léa".to_owned();
        secrets.push(reset_password.clone());
        anon.confirm_password_reset(&ConfirmPasswordReset {
            email: "lea@example.org".into(),
            code: reset,
            new_password: reset_password.clone(),
        })
        .await
        .unwrap();
        let third = anon
            .sign_in(&SignIn {
                email: "lea@example.org".into(),
                password: reset_password.clone(),
            })
            .await
            .unwrap();
        secrets.push(third.token.clone());
        let lea = anon.with_token(&third.token);
        lea.change_email(&ChangeEmail {
            email: "lea.roux@example.net".into(),
            password: reset_password,
        })
        .await
        .unwrap();
        let change = code_in(&mails(&server.data, "lea.roux@example.net", 0)[0]);
        secrets.push(change.clone());
        let seen = mails(&server.data, "lea@example.org", 0).len();
        lea.confirm_email(&ConfirmEmail { code: change })
            .await
            .unwrap();
        let told = mails(&server.data, "lea@example.org", seen).pop().unwrap();
        let at = told.find("this code: ").unwrap() + "this code: ".len();
        secrets.push(told[at..at + 14].to_owned());
        anon.support(&SupportRequest {
            last_name: "Roux".into(),
            first_name: "Léa".into(),
            birth_date: "2004-01-01".into(),
            university: "Université L".into(),
            student_number: "L1".into(),
            possible_emails: vec!["old@example.org".into()],
            message: "Je ne retrouve plus mon adresse.".into(),
        })
        .await
        .unwrap();
        lea.sign_out().await.unwrap();
    });
    secrets
}

/// Finding 6: nothing was logged, and codes would have been. Now a
/// journey leaves a line per request with its id, failed sign-ins as
/// events, and not one of the secrets it used.
#[test]
fn a_whole_journey_leaves_no_secret_in_the_log() {
    let tmp = tempfile::TempDir::new().unwrap();
    let server = Logged::start(tmp.path());
    let secrets = journey(&server, &tmp.path().join("keys"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = server.log();
    assert!(log.contains("answered"), "no request was logged:\n{log}");
    assert!(
        log.contains("request{id="),
        "lines carry no request id:\n{log}"
    );
    assert!(
        log.contains("sign_in_failed"),
        "failed sign-ins are not events:\n{log}"
    );
    assert!(log.contains("wrong_activation_code"), "{log}");
    for secret in &secrets {
        let bare = secret.replace('-', "");
        for s in [secret.as_str(), bare.as_str()] {
            assert!(!holds(&log, s), "the log holds the secret {s:?}");
        }
    }
    assert!(secrets.len() >= 14, "{secrets:?}");
}

/// Whether `secret` stands in `log` as a value of its own: a 6-digit code
/// may also be the fraction of a second of some time stamp.
fn holds(log: &str, secret: &str) -> bool {
    log.match_indices(secret).any(|(at, _)| {
        let before = log[..at].chars().next_back();
        let after = log[at + secret.len()..].chars().next();
        !(secret.len() <= 8
            && (before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
                || after.is_some_and(|c| c.is_ascii_alphanumeric())))
    })
}

/// Finding 4: another user of the machine read the database, the blobs,
/// the outbox and the organisation's seal key. Now, after a whole
/// journey, `nobody` can read nothing under the data directory and none
/// of the key files `--out` wrote, although the folder above them is open.
#[test]
fn nobody_else_on_the_machine_can_read_the_data_or_the_keys() {
    if !is_root() || which("runuser").is_none() {
        assert!(
            std::env::var("COFFRE_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
            "this test needs root and runuser"
        );
        eprintln!("skipped: needs root and runuser");
        return;
    }
    let tmp = tempfile::TempDir::new().unwrap();
    // Open on purpose: only the service's own modes may protect the data.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Logged::start(tmp.path());
    let keys = tmp.path().join("keys");
    journey(&server, &keys);
    let mut files = Vec::new();
    walk(&server.data, &mut files);
    walk(&keys, &mut files);
    assert!(files.len() > 10, "{files:?}");
    for must in ["coffre.db", "secret.key", "seal.key.pem", "ca.key.pem"] {
        assert!(
            files.iter().any(|f| f.ends_with(must)),
            "{must} not found among {files:?}"
        );
    }
    let probe = |path: &Path, cmd: &str| {
        let out = run(std::process::Command::new("runuser")
            .args(["-u", "nobody", "--", cmd])
            .arg(path)
            .stdin(Stdio::null()));
        out.status.success()
    };
    for f in &files {
        assert!(!probe(f, "cat"), "nobody can read {}", f.display());
    }
    for dir in [&server.data, &keys] {
        assert!(!probe(dir, "ls"), "nobody can list {}", dir.display());
    }
    for f in &files {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", f.display());
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// Finding 6: terminal escapes in a support request reached the
/// operator's terminal and could fake lines. Now they are shown escaped.
#[test]
fn support_requests_cannot_write_to_the_operators_terminal() {
    let tmp = tempfile::TempDir::new().unwrap();
    let server = Logged::start(tmp.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        wait_ready(&server.url).await;
        coffre_api::Client::new(&server.url)
            .unwrap()
            .support(&SupportRequest {
                last_name: "Roux\u{1b}[2J".into(),
                first_name: "Léa".into(),
                birth_date: "2004-01-01".into(),
                university: "U\u{9b}31m".into(),
                student_number: "L1".into(),
                possible_emails: vec!["lea@example.org".into()],
                message: "ok\r\n#99  Fake Request  answered\u{202e}".into(),
            })
            .await
            .unwrap();
    });
    let out = run_ok(
        coffre()
            .args(["admin", "support", "list", "--data-dir"])
            .arg(&server.data),
    );
    let shown = String::from_utf8(out.stdout.clone()).unwrap();
    for raw in ['\u{1b}', '\u{9b}', '\r', '\u{202e}'] {
        assert!(
            !shown.contains(raw),
            "{raw:?} reached the terminal:\n{}",
            printed(&out)
        );
    }
    assert!(shown.contains("Roux\\u{1b}[2J"), "{shown}");
    assert_eq!(
        shown.lines().filter(|l| l.starts_with('#')).count(),
        1,
        "a request faked a line:\n{shown}"
    );
}

/// Finding 4: the operator's root key sat online beside the database.
/// Now `coffre admin operator init` writes it elsewhere, the server runs
/// without it, and `root-crl` signs the root's next CRL with it.
#[test]
fn the_operator_root_stays_offline() {
    let tmp = tempfile::TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let offline = tmp.path().join("usb");
    run_ok(
        coffre()
            .args(["admin", "operator", "init", "--data-dir"])
            .arg(&data)
            .arg("--root-dir")
            .arg(&offline),
    );
    assert!(!data.join("operator/root.key.pem").exists());
    let key = offline.join("root.key.pem");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::read(offline.join("root.pem")).unwrap(),
        std::fs::read(data.join("operator/root.pem")).unwrap()
    );
    let again = run(coffre()
        .args(["admin", "operator", "init", "--data-dir"])
        .arg(&data)
        .arg("--root-dir")
        .arg(tmp.path().join("other")));
    assert!(!again.status.success(), "a second init replaced the PKI");

    let before = std::fs::read(data.join("operator/root.crl.pem")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run_ok(
        coffre()
            .args(["admin", "operator", "root-crl", "--data-dir"])
            .arg(&data)
            .arg("--root-key")
            .arg(&key),
    );
    assert_ne!(
        std::fs::read(data.join("operator/root.crl.pem")).unwrap(),
        before
    );
    // Another key is refused.
    let stranger = tmp.path().join("stranger");
    run_ok(coffre().args(["pki", "init"]).arg(&stranger));
    let wrong = run(coffre()
        .args(["admin", "operator", "root-crl", "--data-dir"])
        .arg(&data)
        .arg("--root-key")
        .arg(stranger.join("root.key.pem")));
    assert!(!wrong.status.success(), "{}", printed(&wrong));

    // The server runs on it and hands out the same root.
    let port = free_port();
    let mut child = coffre()
        .arg("serve")
        .arg("--data-dir")
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let trust = rt.block_on(async {
        wait_ready(&url).await;
        coffre_api::Client::new(&url)
            .unwrap()
            .trust()
            .await
            .unwrap()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        trust.anchors[0],
        std::fs::read_to_string(offline.join("root.pem")).unwrap()
    );
}
