//! Every command of the window through Tauri's own IPC (the mock runtime,
//! the app's real configuration and capability), against a real server
//! on loopback: each answers, and each refusal is a `{code, message}` the
//! UI can pick its sentence by.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use coffre_app::{App, AppConfig};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;

struct Rig {
    webview: tauri::WebviewWindow<tauri::test::MockRuntime>,
    server_data: std::path::PathBuf,
    students: Vec<(String, String, String)>,
    server: Option<tokio::runtime::Runtime>,
    _dirs: Vec<tempfile::TempDir>,
}

fn rig() -> Rig {
    let server_tmp = tempfile::TempDir::new().unwrap();
    let app_tmp = tempfile::TempDir::new().unwrap();
    let server_data = server_tmp.path().join("server");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (url, students) = rt.block_on(async {
        let config = coffre_server::ServerConfig::new(server_data.clone());
        let state = coffre_server::AppState::open(&config, coffre_server::system_clock())
            .await
            .unwrap();
        let demo = coffre_server::demo::seed(&state).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            coffre_server::serve_on(state, listener, &config, std::future::pending())
                .await
                .unwrap()
        });
        (url, demo.students)
    });
    // The save dialog's stand-in in debug builds: one folder for the
    // whole process, since the variable is the process's.
    static SAVE_DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let save_dir = SAVE_DIR.get_or_init(|| tempfile::TempDir::new().unwrap());
    std::env::set_var("COFFRE_E2E_SAVE_DIR", save_dir.path());
    let app = App::open(AppConfig {
        data_dir: app_tmp.path().to_owned(),
        server_url_env: Some(url),
        bundled_roots_pem: None,
        user_agent: "Coffre desktop (command tests)".into(),
    })
    .unwrap();
    app.use_memory_only("tests");
    let tauri_app = coffre_desktop::builder(mock_builder())
        .manage(Arc::new(app))
        .build(tauri::generate_context!("../tauri.conf.json"))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&tauri_app, "main", Default::default())
        .build()
        .unwrap();
    Rig {
        webview,
        server_data,
        students,
        server: Some(rt),
        _dirs: vec![server_tmp, app_tmp],
    }
}

impl Rig {
    fn call(&self, cmd: &str, body: Value) -> Result<Value, Value> {
        self.raw(cmd, body).map(|b| match b {
            tauri::ipc::InvokeResponseBody::Json(j) => serde_json::from_str(&j).unwrap(),
            tauri::ipc::InvokeResponseBody::Raw(bytes) => json!({ "raw_len": bytes.len(), "head": String::from_utf8_lossy(&bytes[..5.min(bytes.len())]) }),
        })
    }

    fn raw(&self, cmd: &str, body: Value) -> Result<tauri::ipc::InvokeResponseBody, Value> {
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
    }

    fn ok(&self, cmd: &str, body: Value) -> Value {
        self.call(cmd, body)
            .unwrap_or_else(|e| panic!("{cmd} refused: {e}"))
    }

    /// The command's error code, checking the error is `{code, message}`.
    fn refused(&self, cmd: &str, body: Value) -> String {
        let e = self
            .call(cmd, body)
            .expect_err(&format!("{cmd} should have been refused"));
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{cmd}: no message in {e}"
        );
        e["code"].as_str().unwrap_or_default().to_owned()
    }

    fn emailed_code(&self, to: &str) -> String {
        let mut mails: Vec<(std::time::SystemTime, String)> =
            std::fs::read_dir(self.server_data.join("outbox"))
                .unwrap()
                .filter_map(|e| {
                    let p = e.unwrap().path();
                    let t = std::fs::read_to_string(&p).ok()?;
                    t.contains(&format!("To: {to}"))
                        .then(|| (p.metadata().unwrap().modified().unwrap(), t))
                })
                .collect();
        mails.sort();
        let text = &mails.last().unwrap().1;
        let at = text.find("code is: ").unwrap() + 9;
        text[at..at + 6].to_owned()
    }
}

#[test]
fn every_command_answers_or_says_why_not() {
    let r = rig();
    let (number, name, code) = r.students[0].clone();

    // Before anything.
    let start = r.ok("startup", json!({}));
    assert_eq!(start["keyring"]["kind"], "memoryOnly");
    assert_eq!(r.ok("password_rules", json!({}))["minChars"], 10);
    assert_eq!(r.ok("session", json!({}))["kind"], "signedOut");
    assert_eq!(r.refused("me", json!({})), "not_signed_in");
    assert_eq!(
        r.refused("documents", json!({"args": {"page": 1, "perPage": 10}})),
        "not_signed_in"
    );
    assert_eq!(r.refused("facets", json!({})), "not_signed_in");
    assert_eq!(r.refused("organisations", json!({})), "not_signed_in");
    assert_eq!(
        r.refused("open_document", json!({"id": "x"})),
        "not_signed_in"
    );
    assert_eq!(
        r.refused("document_bytes", json!({"id": "x"})),
        "not_signed_in"
    );
    assert_eq!(
        r.refused("save_document", json!({"id": "x"})),
        "not_signed_in"
    );
    // Signing out always works, even signed out.
    r.ok("sign_out", json!({}));

    // Settings.
    assert_eq!(r.ok("settings", json!({}))["serverUrlFromEnv"], true);
    assert_eq!(r.ok("set_language", json!({"lang": "en"}))["lang"], "en");
    assert!(r.call("set_language", json!({"lang": "de"})).is_err());
    assert_eq!(
        r.refused("set_server_url", json!({"url": "not a url"})),
        "bad_server_url"
    );
    assert_eq!(
        r.ok("refresh_trust", json!({}))["anchors"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Help without a session.
    r.ok("request_reset", json!({"email": "nobody@example.org"}));
    assert_eq!(
        r.refused("confirm_reset", json!({"args": {"email": "nobody@example.org", "code": "123456", "newPassword": "a long new password"}})),
        "wrong_code"
    );
    assert_eq!(
        r.refused("support", json!({"args": {"lastName": "", "firstName": "", "birthDate": "", "university": "", "studentNumber": "", "possibleEmails": [], "message": ""}})),
        "invalid_request"
    );
    assert!(r.ok("support", json!({"args": {"lastName": "Dupont", "firstName": "Camille", "birthDate": "2004-09-17", "university": "Université Démo", "studentNumber": number, "possibleEmails": ["camille@example.org"], "message": ""}})).as_i64().unwrap() > 0);
    let status = r.ok(
        "account_status",
        json!({"args": {"studentNumber": number, "lastName": "Dupont", "birthDate": "2004-09-17"}}),
    );
    assert_eq!(status[0]["status"], "pre_created");
    assert_eq!(r.refused("account_status", json!({"args": {"studentNumber": "x".repeat(300), "lastName": "D", "birthDate": "2004-09-17"}})), "invalid_request");

    // The finalisation, each step refused out of order or wrong, then done.
    assert_eq!(
        r.refused("choose_email", json!({"email": "camille@example.org"})),
        "no_finalisation"
    );
    assert_eq!(
        r.refused("verify_email", json!({"code": "123456"})),
        "no_finalisation"
    );
    assert_eq!(
        r.refused(
            "complete",
            json!({"choice": {"choice": "new", "password": "a passphrase for tests"}})
        ),
        "no_finalisation"
    );
    assert_eq!(
        r.refused(
            "identify",
            json!({"args": {"studentNumber": number, "activationCode": "AAAA-BBBB-CCCC"}})
        ),
        "wrong_code"
    );
    let hello = r.ok(
        "identify",
        json!({"args": {"studentNumber": number, "activationCode": code}}),
    );
    assert_eq!(
        format!(
            "{} {}",
            hello["firstName"].as_str().unwrap(),
            hello["lastName"].as_str().unwrap()
        ),
        name
    );
    r.ok("cancel_finalisation", json!({}));
    assert_eq!(
        r.refused("choose_email", json!({"email": "camille@example.org"})),
        "no_finalisation"
    );
    r.ok(
        "identify",
        json!({"args": {"studentNumber": number, "activationCode": code}}),
    );
    assert_eq!(
        r.refused(
            "choose_email",
            json!({"email": "camille@etu.univ-demo.example"})
        ),
        "institutional_email"
    );
    assert_eq!(
        r.ok("choose_email", json!({"email": "camille@example.org"}))["workLike"],
        false
    );
    assert_eq!(
        r.refused("verify_email", json!({"code": "000000"})),
        "wrong_code"
    );
    r.ok(
        "verify_email",
        json!({"code": r.emailed_code("camille@example.org")}),
    );
    assert_eq!(
        r.refused(
            "complete",
            json!({"choice": {"choice": "new", "password": "short"}})
        ),
        "invalid_request"
    );
    let me = r.ok(
        "complete",
        json!({"choice": {"choice": "new", "password": "a passphrase for tests"}}),
    );
    assert_eq!(me["email"], "camille@example.org");

    // Signed in.
    assert_eq!(r.ok("me", json!({}))["initials"], "CD");
    assert_eq!(r.ok("session", json!({}))["kind"], "signedIn");
    let page = r.ok(
        "documents",
        json!({"args": {"page": 1, "perPage": 10, "sort": "title"}}),
    );
    assert_eq!(page["total"], 2);
    // Arguments the UI cannot send are refused by Tauri before the app.
    assert!(r
        .call(
            "documents",
            json!({"args": {"page": 1, "perPage": 10, "kind": "poster"}})
        )
        .is_err());
    let id = page["documents"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.ok("facets", json!({}))["organisations"][0]["count"], 2);
    assert_eq!(r.ok("organisations", json!({}))[0]["documents"], 2);
    let view = r.ok("open_document", json!({"id": id}));
    assert_eq!(view["seal"]["verdict"], "passed");
    assert_eq!(
        r.refused("open_document", json!({"id": "0".repeat(32)})),
        "not_found"
    );
    let bytes = r.ok("document_bytes", json!({"id": id}));
    assert_eq!(bytes["head"], "%PDF-", "raw bytes, not JSON");
    assert_eq!(
        r.refused("document_bytes", json!({"id": "0".repeat(32)})),
        "not_found"
    );
    let saved = r.ok("save_document", json!({"id": id}));
    let saved = std::path::PathBuf::from(saved.as_str().unwrap());
    assert!(std::fs::read(&saved).unwrap().starts_with(b"%PDF-"));
    assert!(saved.extension().is_some_and(|e| e == "pdf"));
    assert_eq!(
        r.refused("save_document", json!({"id": "0".repeat(32)})),
        "not_found"
    );

    // Out, and in again.
    r.ok("sign_out", json!({}));
    assert_eq!(r.refused("me", json!({})), "not_signed_in");
    assert_eq!(
        r.refused(
            "sign_in",
            json!({"email": "camille@example.org", "password": "wrong one"})
        ),
        "unauthorized"
    );
    assert_eq!(
        r.ok(
            "sign_in",
            json!({"email": "camille@example.org", "password": "a passphrase for tests"})
        )["email"],
        "camille@example.org"
    );

    // The server gone: a clear "offline".
    let mut r = r;
    drop(r.server.take());
    assert_eq!(r.refused("refresh_trust", json!({})), "offline");
}

/// The window gets the app's commands and nothing else: no file system,
/// no dialog, no shell, no opener.
#[test]
fn the_webview_has_no_other_power() {
    let r = rig();
    for cmd in [
        "plugin:dialog|save",
        "plugin:dialog|open",
        "plugin:fs|read_file",
        "plugin:shell|open",
        "plugin:opener|open_url",
        "no_such_command",
    ] {
        assert!(r.call(cmd, json!({})).is_err(), "{cmd} was allowed");
    }
}
