//! The desktop app, built once, driven through WebDriver against a real
//! `coffre serve --demo`: a student's journey from the first screen to a
//! relaunch that finds her still signed in, with a screenshot of every
//! screen at 1280×800 and 900×600 in French and English.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use coffre_e2e::{Harness, Result};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_students_journey() -> Result<()> {
    let Some(h) = Harness::start() else {
        return Ok(());
    };
    let student = h.students[0].clone();
    let w = h.launch().await?;

    // The first screen.
    w.wait("screen-welcome").await?;
    w.shoot("01-welcome").await?;

    // Step 1, Identifiez-vous: a wrong code says so, the right one greets.
    w.click("go-finalise").await?;
    w.wait("step-1").await?;
    w.shoot("02-finalise-identify").await?;
    w.fill("student-number", &student.number).await?;
    w.fill("activation-code", "AAAA-BBBB-CCCC").await?;
    w.click("identify-submit").await?;
    let said = w.wait_text("finalise-error", "code").await?;
    assert!(said.contains("Ce code n’est pas le bon"), "{said}");
    w.shoot("03-finalise-wrong-code").await?;
    w.fill("activation-code", &student.code).await?;
    w.click("identify-submit").await?;
    w.wait_text("hello", &format!("Bonjour {}", student.name))
        .await?;
    w.wait("personal-warning").await?;
    w.shoot("04-finalise-email").await?;

    // Step 2: the university's own address is refused with its sentence.
    w.fill("personal-email", "camille.dupont@etu.univ-demo.example")
        .await?;
    w.click("email-submit").await?;
    let said = w.wait_text("finalise-error", "université").await?;
    assert!(said.contains("adresse e-mail personnelle"), "{said}");
    w.shoot("05-finalise-institutional").await?;
    w.fill("personal-email", "camille@example.org").await?;
    w.click("email-submit").await?;
    w.wait_text("code-sent", "camille@example.org").await?;
    w.shoot("06-finalise-code").await?;
    let code = h.emailed_code("camille@example.org", 0);
    w.fill("email-code", &code).await?;
    w.click("code-submit").await?;

    // Step 3: a new safe, its password rules shown before.
    w.wait("step-3").await?;
    w.wait_text("password-rules", "10").await?;
    w.fill("new-password", "une phrase de passe solide").await?;
    w.fill("confirm-password", "une phrase de passe solide")
        .await?;
    w.shoot("07-finalise-link").await?;
    w.click("complete-submit").await?;
    w.wait_text("step-title", "Votre compte est activé").await?;
    w.shoot("08-finalise-done").await?;

    // Coffre: the two sealed documents.
    w.click("open-coffre").await?;
    w.wait("screen-coffre").await?;
    w.wait("documents").await?;
    assert_eq!(w.count("document-row").await?, 2);
    assert_eq!(w.count("sealed-badge").await?, 2);
    w.shoot("09-coffre").await?;

    // Organismes: the university, current, with its documents.
    w.click("tab-organismes").await?;
    let org = w.wait_text("organisation", "Université Démo").await?;
    assert!(org.contains("2 documents"), "{org}");
    w.shoot("10-organismes").await?;

    // The document: TOTAL_PASSED in words, and its preview.
    w.click("tab-coffre").await?;
    w.wait("documents").await?;
    w.click("open-document").await?;
    let verdict = w.wait_text("verdict", "ORIGINAL").await?;
    assert!(
        verdict.contains("le sceau est valide et le document intact"),
        "{verdict}"
    );
    assert_eq!(
        w.attr("certificate", "data-indication").await?.as_deref(),
        Some("TOTAL_PASSED")
    );
    w.wait_text("issuer", "Université Démo").await?;
    w.wait("pdf-page").await?;
    w.shoot("11-document").await?;
    w.click("save").await?;
    w.wait("saved").await?;
    let saved: Vec<_> = std::fs::read_dir(&h.saves)?.flatten().collect();
    assert_eq!(saved.len(), 1);
    assert!(std::fs::read(saved[0].path())?.starts_with(b"%PDF-"));

    // Settings: the pinned root with its fingerprint.
    w.click("tab-settings").await?;
    let fingerprint = w.text("fingerprint").await?;
    assert_eq!(fingerprint.replace(' ', "").len(), 64, "{fingerprint}");
    w.shoot("12-settings").await?;

    // English, and back.
    w.set_lang("en").await?;
    w.wait_text("screen-title", "Settings").await?;
    w.wait_text("tab-coffre", "Safe").await?;
    w.set_lang("fr").await?;
    w.wait_text("screen-title", "Réglages").await?;

    // The circle with the initials: the sign-in address, and sign out.
    w.click("account-button").await?;
    w.wait_text("account-email", "camille@example.org").await?;
    w.shoot("13-account-menu").await?;
    w.click("sign-out").await?;
    w.wait("screen-welcome").await?;

    // Sign in: a wrong password is a sentence; the right one opens Coffre.
    w.click("go-sign-in").await?;
    w.wait("screen-signin").await?;
    w.shoot("14-signin").await?;
    w.fill("signin-email", "camille@example.org").await?;
    w.fill("signin-password", "pas le bon mot de passe").await?;
    w.click("signin-submit").await?;
    let said = w.wait_text("signin-error", "mot de passe").await?;
    assert!(said.contains("Mot de passe oublié"), "{said}");
    w.shoot("15-signin-wrong").await?;
    w.fill("signin-password", "une phrase de passe solide")
        .await?;
    w.click("signin-submit").await?;
    w.wait("screen-coffre").await?;

    // Quit and relaunch: still signed in, the token from the keyring.
    w.quit().await?;
    let w = h.launch().await?;
    w.wait("screen-coffre").await?;
    w.wait("documents").await?;
    no_file_holds_a_token(&h.app_data);
    if let Some(token) = keyring_token(&h.url) {
        for file in walk(&h.app_data) {
            let bytes = std::fs::read(&file)?;
            assert!(
                !bytes.windows(token.len()).any(|x| x == token.as_bytes()),
                "{} holds the session token",
                file.display()
            );
        }
    }

    // Forgotten password, end to end.
    w.click("account-button").await?;
    w.click("sign-out").await?;
    w.click("go-sign-in").await?;
    w.click("go-forgot").await?;
    w.wait("screen-forgot").await?;
    w.shoot("16-forgot").await?;
    let before = h.mail_count("camille@example.org");
    w.fill("forgot-email", "camille@example.org").await?;
    w.click("forgot-send").await?;
    w.wait("reset-sent").await?;
    let code = h.emailed_code("camille@example.org", before);
    w.fill("reset-code", &code).await?;
    w.fill("reset-password", "un tout nouveau mot de passe")
        .await?;
    w.fill("reset-confirm", "un tout nouveau mot de passe")
        .await?;
    w.shoot("17-forgot-code").await?;
    w.click("reset-submit").await?;
    w.wait("reset-done").await?;
    w.click("to-sign-in").await?;
    w.fill("signin-email", "camille@example.org").await?;
    w.fill("signin-password", "un tout nouveau mot de passe")
        .await?;
    w.click("signin-submit").await?;
    w.wait("screen-coffre").await?;

    // The help screens reached without a session.
    w.click("account-button").await?;
    w.click("sign-out").await?;
    w.click("go-status").await?;
    w.fill("status-number", &student.number).await?;
    w.fill("status-last-name", "Dupont").await?;
    w.fill("status-birth-date", "17/09/2004").await?;
    w.click("status-submit").await?;
    let status = w.wait_text("status-result", "finalisé").await?;
    assert!(status.contains("@example.org"), "{status}");
    w.shoot("18-status").await?;
    w.click("back-home").await?;
    w.click("go-sign-in").await?;
    w.click("go-support").await?;
    w.wait("screen-support").await?;
    w.shoot("19-support").await?;
    w.quit().await?;
    Ok(())
}

/// No file of the app's has a 64-hex-digit run (how session tokens look).
fn no_file_holds_a_token(dir: &std::path::Path) {
    for file in walk(dir) {
        let text = std::fs::read(&file).unwrap();
        let mut run = 0;
        for b in text {
            run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
            assert!(run < 64, "{} holds something like a token", file.display());
        }
    }
}

/// The session token as the Secret Service holds it, when `secret-tool`
/// is there to ask.
fn keyring_token(server: &str) -> Option<String> {
    let out = std::process::Command::new("secret-tool")
        .args(["lookup", "service", "Coffre", "username", server])
        .output()
        .ok()?;
    let token = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    assert!(
        out.status.success() && token.len() == 64,
        "the keyring holds no session token for {server}"
    );
    Some(token)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
