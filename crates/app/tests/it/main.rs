//! The app against a real `coffre serve --demo` (the service's own code,
//! on a loopback port): finalise, sign in, list, open and validate, pin
//! the root, keep the session in the keyring.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use coffre_app::view::{
    IdentifyArgs, KeyringState, ListArgs, SafeChoiceArgs, SessionState, Sort, StatusArgs, Verdict,
};
use coffre_app::{App, AppConfig};
use coffre_server::{AppState, ServerConfig};
use tempfile::TempDir;

/// `coffre serve --demo` in this process, and its demo students.
struct Demo {
    url: String,
    data: PathBuf,
    students: Vec<(String, String, String)>,
    state: AppState,
    _tmp: TempDir,
}

async fn demo() -> Demo {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("server");
    let mut config = ServerConfig::new(data.clone());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let state = AppState::open(&config, coffre_server::system_clock())
        .await
        .unwrap();
    let seeded = coffre_server::demo::seed(&state).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = state.clone();
    tokio::spawn(async move {
        coffre_server::serve_on(served, listener, &config, std::future::pending())
            .await
            .unwrap()
    });
    Demo {
        url,
        data,
        students: seeded.students,
        state,
        _tmp: tmp,
    }
}

fn app(dir: &Path, url: &str) -> App {
    let app = App::open(AppConfig {
        data_dir: dir.to_owned(),
        server_url_env: Some(url.to_owned()),
        bundled_roots_pem: None,
        user_agent: "Coffre desktop (tests)".into(),
    })
    .unwrap();
    app.use_memory_only("tests");
    app
}

/// The 6-digit code of the newest e-mail to `to`.
fn emailed_code(data: &Path, to: &str) -> String {
    let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let t = std::fs::read_to_string(&p).ok()?;
            t.contains(&format!("To: {to}"))
                .then(|| (p.metadata().unwrap().modified().unwrap(), t))
        })
        .collect();
    mails.sort();
    let text = &mails.last().expect("an e-mail").1;
    let at = text.find("code is: ").unwrap() + 9;
    text[at..at + 6].to_owned()
}

async fn finalised(demo: &Demo, app: &App, who: usize, email: &str) {
    let (number, _, code) = &demo.students[who];
    app.identify(&IdentifyArgs {
        student_number: number.clone(),
        activation_code: code.clone(),
    })
    .await
    .unwrap();
    app.choose_email(email).await.unwrap();
    app.verify_email(&emailed_code(&demo.data, email))
        .await
        .unwrap();
    app.complete(&SafeChoiceArgs::New {
        password: "a passphrase for tests".into(),
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalise_sign_in_list_and_validate_offline() {
    let demo = demo().await;
    let dir = TempDir::new().unwrap();
    let app = app(dir.path(), &demo.url);
    assert_eq!(app.session().await.unwrap(), SessionState::SignedOut);

    // Step by step, with the refusals a student meets.
    let (number, first, code) = demo.students[0].clone();
    let wrong = app
        .identify(&IdentifyArgs {
            student_number: number.clone(),
            activation_code: "AAAA-BBBB-CCCC".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code, "wrong_code");
    assert_eq!(
        app.choose_email("x@example.org").await.unwrap_err().code,
        "no_finalisation"
    );
    let hello = app
        .identify(&IdentifyArgs {
            student_number: number.clone(),
            activation_code: code.to_lowercase(),
        })
        .await
        .unwrap();
    assert_eq!(format!("{} {}", hello.first_name, hello.last_name), first);
    let institutional = app
        .choose_email("camille.dupont@etu.univ-demo.example")
        .await
        .unwrap_err();
    assert_eq!(institutional.code, "institutional_email");
    let work = app
        .choose_email("camille@entreprise.example")
        .await
        .unwrap();
    assert!(work.work_like);
    let sent = app.choose_email("camille@example.org").await.unwrap();
    assert!(!sent.work_like && sent.expires_in > 0);
    assert_eq!(
        app.verify_email("000000").await.unwrap_err().code,
        "wrong_code"
    );
    app.verify_email(&emailed_code(&demo.data, "camille@example.org"))
        .await
        .unwrap();
    let short = app
        .complete(&SafeChoiceArgs::New {
            password: "short".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(short.code, "invalid_request");
    let me = app
        .complete(&SafeChoiceArgs::New {
            password: "a passphrase for tests".into(),
        })
        .await
        .unwrap();
    assert_eq!(me.email, "camille@example.org");
    assert_eq!(me.initials, "CD");

    // Signed in: Coffre, its filters, Organismes.
    let page = app
        .documents(&ListArgs {
            page: 1,
            per_page: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    assert!(page.documents.iter().all(|d| d.sealed));
    let by_title = app
        .documents(&ListArgs {
            sort: Some(Sort::Title),
            page: 1,
            per_page: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(by_title.documents[0].title.starts_with("Attestation"));
    let searched = app
        .documents(&ListArgs {
            q: Some("relevé".into()),
            page: 1,
            per_page: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(searched.total, 1);
    let facets = app.facets().await.unwrap();
    assert_eq!(
        facets.organisations[0].value,
        coffre_server::demo::DEMO_UNIVERSITY
    );
    assert_eq!(facets.organisations[0].count, 2);
    assert_eq!(facets.years[0].value, "2025-2026");
    let orgs = app.organisations().await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert!(orgs[0].current && orgs[0].documents == 2);

    // A document, validated here: the root was pinned on first contact.
    let doc = &searched.documents[0];
    let view = app.open_document(&doc.id, coffre_app::now()).await.unwrap();
    assert_eq!(view.seal.verdict, Verdict::Passed, "{:?}", view.seal);
    assert_eq!(view.seal.indication, "TOTAL_PASSED");
    assert_eq!(
        view.seal.issuer.as_deref(),
        Some(coffre_server::demo::DEMO_UNIVERSITY)
    );
    assert!(view.seal.timestamped && !view.seal.changed_after_sealing);
    assert!(view.seal.revocation_date.is_some());
    let settings = app.settings();
    assert_eq!(settings.anchors.len(), 1);
    assert_eq!(settings.anchors[0].fingerprint.replace(' ', "").len(), 64);
    assert!(settings.crls_fetched_at.is_some());

    // Offline: the server gone, the same document still validates (the
    // bytes of the last opened and the cached trust material).
    let offline_view = coffre_app::App::open(coffre_app::AppConfig {
        data_dir: dir.path().to_owned(),
        server_url_env: Some("http://127.0.0.1:9".into()),
        bundled_roots_pem: None,
        user_agent: "Coffre desktop (tests)".into(),
    })
    .unwrap();
    offline_view.use_memory_only("tests");
    assert_eq!(
        offline_view.settings().anchors.len(),
        1,
        "the pin survives a restart"
    );
    assert_eq!(
        offline_view
            .sign_in("camille@example.org", "x")
            .await
            .unwrap_err()
            .code,
        "offline"
    );

    // Saving writes the very bytes.
    let out = dir.path().join("saved.pdf");
    app.save_document(&doc.id, &out).await.unwrap();
    let saved = std::fs::read(&out).unwrap();
    assert!(saved.starts_with(b"%PDF-"));
    assert!(app.suggested_name(&doc.id).await.unwrap().ends_with(".pdf"));

    // Sign out, sign in again, the status check.
    app.sign_out().await.unwrap();
    assert_eq!(app.session().await.unwrap(), SessionState::SignedOut);
    assert_eq!(app.me().await.unwrap_err().code, "not_signed_in");
    assert_eq!(
        app.sign_in("camille@example.org", "not the passphrase")
            .await
            .unwrap_err()
            .code,
        "unauthorized"
    );
    app.sign_in("camille@example.org", "a passphrase for tests")
        .await
        .unwrap();
    let status = app
        .account_status(&StatusArgs {
            student_number: number,
            last_name: "Dupont".into(),
            birth_date: "2004-09-17".into(),
        })
        .await
        .unwrap();
    assert_eq!(status.len(), 1);
    assert!(status[0]
        .masked_email
        .as_deref()
        .unwrap()
        .ends_with("@example.org"));
}

/// Student `who`'s safe finalised with `email`: the first document's id
/// and the file the server keeps its bytes in.
async fn first_document(demo: &Demo, app: &App, who: usize, email: &str) -> (String, PathBuf) {
    finalised(demo, app, who, email).await;
    let page = app
        .documents(&ListArgs {
            page: 1,
            per_page: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let id = page.documents[0].id.clone();
    let sha: String = sqlx::query_scalar("SELECT sha256 FROM documents WHERE id = $1")
        .bind(&id)
        .fetch_one(&demo.state.db.pool)
        .await
        .unwrap();
    (
        id,
        demo.data.join("blobs/sha256").join(&sha[..2]).join(&sha),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_document_says_so_first() {
    let demo = demo().await;
    let dir = TempDir::new().unwrap();
    let app = app(dir.path(), &demo.url);
    // The blob changed under the server (a disk fault, an attacker with
    // access to the store): the app's own check catches it.
    let (id, path) = first_document(&demo, &app, 1, "lucas@example.org").await;
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let view = app.open_document(&id, coffre_app::now()).await.unwrap();
    assert_eq!(view.seal.verdict, Verdict::Failed, "{:?}", view.seal);
    assert_eq!(view.seal.reason.as_deref(), Some("HASH_FAILURE"));
    assert!(view.seal.changed_after_sealing);
}

/// A copy whose cross-reference offset is a few bytes off (a careless
/// transfer, an editor that rewrote a line) is read as peers read it, and
/// the certificate says it was repaired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_copy_is_repaired_and_says_so() {
    let demo = demo().await;
    let dir = TempDir::new().unwrap();
    let app = app(dir.path(), &demo.url);
    let (id, path) = first_document(&demo, &app, 2, "ines@example.org").await;
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(10)
        .rposition(|w| w == b"startxref\n")
        .unwrap()
        + 10;
    let len = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let offset: usize = std::str::from_utf8(&bytes[at..at + len])
        .unwrap()
        .parse()
        .unwrap();
    let wrong = format!("{:0len$}", offset - 3);
    bytes[at..at + len].copy_from_slice(wrong.as_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let view = app.open_document(&id, coffre_app::now()).await.unwrap();
    assert_eq!(view.seal.verdict, Verdict::Passed, "{:?}", view.seal);
    assert!(
        view.seal.details[0].starts_with("the file was damaged and repaired"),
        "{:?}",
        view.seal.details
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_root_later_is_refused_never_taken() {
    let first = demo().await;
    let second = demo().await;
    let dir = TempDir::new().unwrap();
    let app = app(dir.path(), &first.url);
    let settings = app.refresh_trust().await.unwrap();
    let pinned = settings.anchors[0].fingerprint.clone();
    // Same app, another server with its own operator root.
    app.set_server_url(&second.url).await.unwrap();
    let app = coffre_app::App::open(coffre_app::AppConfig {
        data_dir: dir.path().to_owned(),
        server_url_env: Some(second.url.clone()),
        bundled_roots_pem: None,
        user_agent: "Coffre desktop (tests)".into(),
    })
    .unwrap();
    app.use_memory_only("tests");
    let refused = app.refresh_trust().await.unwrap_err();
    assert_eq!(refused.code, "trust_changed");
    let after = app.settings();
    assert!(after.trust_changed);
    assert_eq!(after.anchors.len(), 1);
    assert_eq!(
        after.anchors[0].fingerprint, pinned,
        "the pinned root stays"
    );
    // A bundled root decides from the start.
    let bundled = std::fs::read_to_string(second.data.join("operator/root.pem")).unwrap();
    let dir2 = TempDir::new().unwrap();
    let shipped = coffre_app::App::open(coffre_app::AppConfig {
        data_dir: dir2.path().to_owned(),
        server_url_env: Some(first.url.clone()),
        bundled_roots_pem: Some(bundled),
        user_agent: "Coffre desktop (tests)".into(),
    })
    .unwrap();
    assert_eq!(
        shipped.refresh_trust().await.unwrap_err().code,
        "trust_changed"
    );
    assert_eq!(
        shipped.settings().anchors[0].source,
        coffre_app::view::AnchorSource::Bundled
    );
}

/// The keyring probe finds this machine's store, or says why there is
/// none; with one, a session survives a restart of the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_lives_in_the_keyring_across_restarts() {
    let demo = demo().await;
    let dir = TempDir::new().unwrap();
    let open = || {
        Arc::new(
            App::open(AppConfig {
                data_dir: dir.path().to_owned(),
                server_url_env: Some(demo.url.clone()),
                bundled_roots_pem: None,
                user_agent: "Coffre desktop (tests)".into(),
            })
            .unwrap(),
        )
    };
    let app = open();
    let probed = {
        let app = Arc::clone(&app);
        tokio::task::spawn_blocking(move || app.probe_keyring())
            .await
            .unwrap()
    };
    match &probed {
        KeyringState::Available { store } => eprintln!("keyring: {store}"),
        KeyringState::MemoryOnly { reason } => {
            assert!(
                std::env::var("COFFRE_REQUIRE_KEYRING").as_deref() != Ok("1"),
                "no keyring: {reason}"
            );
            eprintln!("skipped the restart half: no keyring here ({reason})");
        }
        KeyringState::Probing => panic!("the probe did not decide"),
    }
    finalised(&demo, &app, 2, "ines@example.org").await;
    if !matches!(probed, KeyringState::Available { .. }) {
        return;
    }
    drop(app);
    let again = open();
    let app2 = Arc::clone(&again);
    tokio::task::spawn_blocking(move || app2.probe_keyring())
        .await
        .unwrap();
    match again.session().await.unwrap() {
        SessionState::SignedIn { me } => assert_eq!(me.email, "ines@example.org"),
        other => panic!("not signed in after a restart: {other:?}"),
    }
    // No file of the app's holds the token.
    let token = {
        let kept = coffre_app::Vault::default();
        kept.probe();
        kept.token(&demo.url).unwrap().unwrap()
    };
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{} holds the session token",
            entry.display()
        );
    }
    again.sign_out().await.unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
