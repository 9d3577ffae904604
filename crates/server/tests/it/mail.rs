//! E-mail through a real SMTP server (aiosmtpd, run by the venv's Python
//! named in COFFRE_PYTHON, on loopback): codes arrive by SMTP; a mail
//! server that is down is a clear error the student can retry, and the
//! step works once it is back.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coffre_api::{ChooseEmail, ErrorCode, Identify, VerifyEmail};
use tempfile::TempDir;

use crate::{storages, TestServer};

/// aiosmtpd storing what it receives in a Maildir; killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(python: &Path, port: u16, maildir: &Path) -> SmtpServer {
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let server = SmtpServer {
            child,
            port,
            maildir: maildir.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The 6-digit code of the newest message to `to`, waiting for it.
    fn code_sent_to(&self, to: &str, not: Option<&str>) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut found: Vec<(std::time::SystemTime, String)> = ["new", "cur"]
                .iter()
                .flat_map(|d| {
                    std::fs::read_dir(self.maildir.join(d))
                        .into_iter()
                        .flatten()
                })
                .map(|e| e.unwrap().path())
                .map(|p| {
                    (
                        p.metadata().unwrap().modified().unwrap(),
                        std::fs::read_to_string(p).unwrap(),
                    )
                })
                .filter(|(_, text)| text.contains(&format!("To: {to}")))
                .collect();
            found.sort();
            if let Some((_, text)) = found.last() {
                let at = text.find("code is: ").expect("a code line") + "code is: ".len();
                let code = text[at..at + 6].to_owned();
                if Some(code.as_str()) != not {
                    return code;
                }
            }
            assert!(Instant::now() < deadline, "no e-mail to {to} arrived");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Wait until the port is closed, so a restart can take it again.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn python() -> Option<PathBuf> {
    match std::env::var_os("COFFRE_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var("COFFRE_REQUIRE_EXTERNAL").as_deref() == Ok("1") => {
            panic!(
                "COFFRE_PYTHON (a Python with aiosmtpd) is required (run through cargo xtask test)"
            )
        }
        None => {
            eprintln!("skipped: the SMTP test (no COFFRE_PYTHON with aiosmtpd)");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_go_out_by_smtp_and_a_mail_outage_is_a_clear_error() {
    let Some(python) = python() else {
        return;
    };
    let tmp = TempDir::new().unwrap();
    let maildir = tmp.path().join("maildir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let smtp = SmtpServer::start(&python, port, &maildir);
    let server = TestServer::start_with_smtp(
        &storages()[0],
        "smtp",
        Some(format!("smtp://127.0.0.1:{port}")),
    )
    .await;
    let (_, _, imported) = server
        .university(
            "Université Une",
            "une.example",
            "M1,Dupont,Camille,2004-09-17,c@une.example\n",
        )
        .await;
    let anon = server.client();
    let token = anon
        .identify(&Identify {
            student_number: "M1".into(),
            activation_code: imported.created[0].activation_code.clone(),
        })
        .await
        .unwrap()
        .activation_token;
    let choose = ChooseEmail {
        activation_token: token.clone(),
        email: "camille.dupont@example.org".into(),
    };
    anon.choose_email(&choose).await.unwrap();
    let first = smtp.code_sent_to("camille.dupont@example.org", None);
    // Nothing went to the outbox: SMTP carried it.
    assert!(!server.data_dir.join("outbox").exists());

    // The mail server goes away: a clear error, nothing to lose.
    drop(smtp);
    let err = anon.choose_email(&choose).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::MailUnavailable), "{err}");
    assert!(err.to_string().contains("Try again"), "{err}");

    // It is back: the same step works, and its new code verifies.
    let smtp = SmtpServer::start(&python, port, &maildir);
    anon.choose_email(&choose).await.unwrap();
    let code = smtp.code_sent_to("camille.dupont@example.org", Some(&first));
    anon.verify_email(&VerifyEmail {
        activation_token: token,
        code,
    })
    .await
    .unwrap();
}
