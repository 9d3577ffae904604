//! `coffre seal --tsa-url` against an RFC 3161 server on loopback: a small
//! HTTP server in the test answering with coffre-seal's `LocalTsa`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use coffre_seal::{Certificate, LocalTsa, SigningKey, UnixTime};
use serde_json::Value;
use tempfile::TempDir;

use crate::{coffre, printed, run, run_ok, write_transcript, Pki};

/// Serves `POST /tsa` on 127.0.0.1 with `tsa`; returns the URL and a
/// counter of answered requests. `refuse` answers 503 instead.
fn serve(tsa: LocalTsa, refuse: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", listener.local_addr().unwrap());
    let answered = Arc::new(AtomicUsize::new(0));
    let counter = answered.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let (status, reply) = if refuse {
                ("503 Service Unavailable", Vec::new())
            } else {
                ("200 OK", tsa.respond(&body))
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&reply);
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (url, answered)
}

fn local_tsa(pki: &Pki) -> LocalTsa {
    let key =
        SigningKey::from_pem(&std::fs::read_to_string(pki.file("tsa.key.pem")).unwrap()).unwrap();
    let mut chain =
        Certificate::from_pem_chain(&std::fs::read_to_string(pki.file("tsa.pem")).unwrap())
            .unwrap();
    chain.extend(
        Certificate::from_pem_chain(&std::fs::read_to_string(pki.file("chain.pem")).unwrap())
            .unwrap(),
    );
    LocalTsa::new(key, chain, || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        UnixTime(now.as_secs() as i64)
    })
    .unwrap()
}

#[test]
fn seals_with_a_time_stamp_from_an_http_tsa() {
    let pki = Pki::init();
    let tmp = TempDir::new().unwrap();
    let input = write_transcript(tmp.path(), "transcript.pdf");
    let (url, answered) = serve(local_tsa(&pki), false);
    let sealed = tmp.path().join("sealed.pdf");
    run_ok(
        coffre()
            .arg("seal")
            .arg("--key")
            .arg(pki.file("seal.key.pem"))
            .arg("--cert")
            .arg(pki.file("seal.pem"))
            .arg("--chain")
            .arg(pki.file("chain.pem"))
            .args(["--level", "b-lt", "--tsa-url", &url])
            .arg("--crl")
            .arg(pki.file("crl.pem"))
            .arg("--crl")
            .arg(pki.file("root.crl.pem"))
            .arg("-o")
            .arg(&sealed)
            .arg(&input),
    );
    assert!(answered.load(Ordering::SeqCst) >= 1);
    let out = run_ok(
        coffre()
            .args(["verify", "--json", "--trust"])
            .arg(pki.file("root.pem"))
            .arg(&sealed),
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sig = &json[0]["signatures"][0];
    assert_eq!(json[0]["status"], "TOTAL_PASSED", "{json:#}");
    assert_eq!(sig["timestamp_valid"], true, "{json:#}");
    assert_eq!(sig["revocation_checked"], true, "{json:#}");
}

#[test]
fn a_failing_tsa_is_an_error_and_writes_nothing() {
    let pki = Pki::init();
    let tmp = TempDir::new().unwrap();
    let input = write_transcript(tmp.path(), "transcript.pdf");
    let (url, _) = serve(local_tsa(&pki), true);
    let sealed = tmp.path().join("sealed.pdf");
    let out = run(coffre()
        .arg("seal")
        .arg("--key")
        .arg(pki.file("seal.key.pem"))
        .arg("--cert")
        .arg(pki.file("seal.pem"))
        .args(["--level", "b-t", "--tsa-url", &url])
        .arg("-o")
        .arg(&sealed)
        .arg(&input));
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("time-stamping authority") && err.contains("503"),
        "{err}"
    );
    assert!(!sealed.exists());
}
