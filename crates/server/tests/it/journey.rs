//! The whole journey through the API, on each storage combination: an
//! organisation is created, imports its roster, deposits sealed
//! transcripts; a student finalises the safe in three steps, signs in,
//! lists and downloads, and the bytes validate offline.

use coffre_api::{
    AccountState, ChooseEmail, Complete, DepositParams, DocumentKind, DocumentQuery, ErrorCode,
    Identify, SafeChoice, SignIn, VerifyEmail,
};
use coffre_seal::{Certificate, Crl, Status, UnixTime, ValidationConfig};
use coffre_server::orgs;

use crate::{storages, transcript, TestServer, START};

const ROSTER: &str = "student_number,last_name,first_name,birth_date,institutional_email,refused\n\
    S001,Dupont,Camille,2004-09-17,camille.dupont@etu.univ-test.example\n\
    S002,Martin,Lucas,2003-02-28,lucas.martin@etu.univ-test.example\n\
    S003,Petit,Hugo,2005-01-05,hugo.petit@etu.univ-test.example,1\n";

fn code(e: &coffre_api::Error) -> ErrorCode {
    e.code()
        .cloned()
        .unwrap_or_else(|| panic!("not an API error: {e}"))
}

fn params(student: &str, title: &str) -> DepositParams {
    DepositParams {
        student_number: student.into(),
        kind: DocumentKind::Transcript,
        title: title.into(),
        academic_year: "2025-2026".into(),
        source_sha256: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey() {
    for storage in storages() {
        run_journey(&storage).await;
    }
}

async fn run_journey(storage: &crate::Storage) {
    let server = TestServer::start(storage, "journey").await;
    let anon = server.client();

    // The operator creates the organisation.
    let org = orgs::create(
        &server.state,
        "Université Test",
        &["univ-test.example".into()],
    )
    .await
    .unwrap();
    let uni = anon.with_token(&org.api_key);

    // Roster: 2 safes pre-created, 1 refusal; importing again changes nothing.
    let imported = uni.import_roster(ROSTER.into()).await.unwrap();
    assert_eq!(imported.created.len(), 2, "{imported:?}");
    assert_eq!(imported.refused, ["S003"]);
    let again = uni.import_roster(ROSTER.into()).await.unwrap();
    assert!(
        again.created.is_empty() && again.unchanged.len() == 3,
        "{again:?}"
    );
    let codes: std::collections::HashMap<_, _> = imported
        .created
        .iter()
        .map(|c| (c.student_number.clone(), c.activation_code.clone()))
        .collect();

    // A bad roster is refused whole, with line numbers.
    let err = uni
        .import_roster("S010,A,B,2004-13-01,a@b.example\nS011,C,D,2004-01-01,nope\n".into())
        .await
        .unwrap_err();
    assert_eq!(code(&err), ErrorCode::InvalidRequest);
    assert!(
        err.to_string().contains("line 1") && err.to_string().contains("line 2"),
        "{err}"
    );
    assert_eq!(
        uni.student_status("S010").await.unwrap().status,
        AccountState::NotProvisioned
    );

    // Deposits.
    let sealed = server.seal(&org, &transcript(1, "Camille Dupont"));
    let d = uni
        .deposit(&params("S001", "Relevé de notes S1"), sealed.clone())
        .await
        .unwrap();
    assert!(!d.already_deposited);
    let d2 = uni
        .deposit(&params("S001", "Relevé de notes S1"), sealed.clone())
        .await
        .unwrap();
    assert!(d2.already_deposited && d2.document_id == d.document_id);
    let refused = uni
        .deposit(
            &params("S003", "Relevé"),
            server.seal(&org, &transcript(3, "Hugo Petit")),
        )
        .await;
    assert_eq!(code(&refused.unwrap_err()), ErrorCode::StudentRefused);
    let mut tampered = sealed.clone();
    let at = tampered
        .windows(10)
        .position(|w| w == b"Transcript")
        .unwrap();
    tampered[at] ^= 1;
    assert_eq!(
        code(
            &uni.deposit(&params("S001", "Faux"), tampered)
                .await
                .unwrap_err()
        ),
        ErrorCode::SealInvalid
    );
    let unsealed = transcript(4, "Camille Dupont");
    assert_eq!(
        code(
            &uni.deposit(&params("S001", "Brut"), unsealed)
                .await
                .unwrap_err()
        ),
        ErrorCode::SealInvalid
    );
    assert_eq!(
        code(
            &uni.deposit(&params("S999", "X"), sealed.clone())
                .await
                .unwrap_err()
        ),
        ErrorCode::UnknownStudent
    );
    assert_eq!(
        code(
            &uni.deposit(&params("S001", "X"), b"GIF89a".to_vec())
                .await
                .unwrap_err()
        ),
        ErrorCode::NotPdf
    );
    // Another organisation's seal is not this one's.
    let other = orgs::create(&server.state, "Autre École", &["autre.example".into()])
        .await
        .unwrap();
    let foreign = server.seal(&other, &transcript(5, "Camille Dupont"));
    assert_eq!(
        code(
            &uni.deposit(&params("S001", "Autre"), foreign)
                .await
                .unwrap_err()
        ),
        ErrorCode::SealInvalid
    );
    // Bad credentials.
    assert_eq!(
        code(
            &anon
                .with_token("coffre_org_nope")
                .student_status("S001")
                .await
                .unwrap_err()
        ),
        ErrorCode::Unauthorized
    );

    // Statuses as the organisation sees them.
    assert_eq!(
        uni.student_status("S001").await.unwrap().status,
        AccountState::PreCreated
    );
    assert_eq!(
        uni.student_status("S003").await.unwrap().status,
        AccountState::Refused
    );
    assert_eq!(
        uni.student_status("S404").await.unwrap().status,
        AccountState::NotProvisioned
    );

    // Finalisation, step 1: identify.
    let wrong = anon
        .identify(&Identify {
            student_number: "S001".into(),
            activation_code: "AAAA-AAAA-AAAA".into(),
        })
        .await;
    assert_eq!(code(&wrong.unwrap_err()), ErrorCode::WrongCode);
    let who = anon
        .identify(&Identify {
            student_number: "S001".into(),
            activation_code: codes["S001"].to_lowercase(),
        })
        .await
        .unwrap();
    assert_eq!(
        (who.first_name.as_str(), who.organisation.as_str()),
        ("Camille", "Université Test")
    );
    let token = who.activation_token.clone();

    // Step 2: a personal address, verified by code.
    let institutional = anon
        .choose_email(&ChooseEmail {
            activation_token: token.clone(),
            email: "camille@etu.univ-test.example".into(),
        })
        .await;
    assert_eq!(
        code(&institutional.unwrap_err()),
        ErrorCode::InstitutionalEmail
    );
    let work = anon
        .choose_email(&ChooseEmail {
            activation_token: token.clone(),
            email: "camille@employer.example".into(),
        })
        .await
        .unwrap();
    assert!(
        work.warning.is_some(),
        "a work-like address gets the warning"
    );
    let sent = anon
        .choose_email(&ChooseEmail {
            activation_token: token.clone(),
            email: "Camille.Dupont@example.org".into(),
        })
        .await
        .unwrap();
    assert!(sent.warning.is_none());
    let email_code = server.emailed_code("camille.dupont@example.org");
    let wrong = if email_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let bad = anon
        .verify_email(&VerifyEmail {
            activation_token: token.clone(),
            code: wrong.into(),
        })
        .await;
    assert_eq!(code(&bad.unwrap_err()), ErrorCode::WrongCode);
    // Step 3 before the address is verified is refused.
    let early = anon
        .complete(&Complete {
            activation_token: token.clone(),
            safe: SafeChoice::New {
                password: "a long passphrase".into(),
            },
        })
        .await;
    assert_eq!(code(&early.unwrap_err()), ErrorCode::WrongStep);
    anon.verify_email(&VerifyEmail {
        activation_token: token.clone(),
        code: email_code,
    })
    .await
    .unwrap();

    // Step 3: a new safe.
    let short = anon
        .complete(&Complete {
            activation_token: token.clone(),
            safe: SafeChoice::New {
                password: "short".into(),
            },
        })
        .await;
    assert_eq!(code(&short.unwrap_err()), ErrorCode::InvalidRequest);
    let session = anon
        .complete(&Complete {
            activation_token: token.clone(),
            safe: SafeChoice::New {
                password: "a long passphrase".into(),
            },
        })
        .await
        .unwrap();
    let camille = anon.with_token(&session.token);

    // The safe: account menu, Organismes, Coffre.
    let me = camille.me().await.unwrap();
    assert_eq!(
        (me.email.as_str(), me.initials.as_str()),
        ("camille.dupont@example.org", "CD")
    );
    let orgs_tab = camille.organisations().await.unwrap();
    assert_eq!(orgs_tab.len(), 1);
    assert!(orgs_tab[0].current && orgs_tab[0].name == "Université Test");
    let page = camille.documents(&DocumentQuery::default()).await.unwrap();
    assert_eq!(page.total, 1);
    let doc = &page.documents[0];
    assert!(doc.sealed && doc.organisation.as_deref() == Some("Université Test"));
    // A deposit after finalisation lands in the safe directly.
    let later = server.seal(&org, &transcript(6, "Camille Dupont"));
    uni.deposit(
        &DepositParams {
            kind: DocumentKind::CertificateOfAchievement,
            ..params("S001", "Attestation de réussite")
        },
        later,
    )
    .await
    .unwrap();
    let all = camille.documents(&DocumentQuery::default()).await.unwrap();
    assert_eq!(all.total, 2);
    let filtered = camille
        .documents(&DocumentQuery {
            kind: Some(DocumentKind::CertificateOfAchievement),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(filtered.total, 1);
    let searched = camille
        .documents(&DocumentQuery {
            q: Some("relevé".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(searched.total, 1);

    // The operator's TSA answers RFC 3161 requests over HTTP.
    let digest = coffre_seal::sha256(b"some signature value");
    let reply = anon
        .timestamp(coffre_seal::timestamp_request(&digest, 42).unwrap())
        .await
        .unwrap();
    coffre_seal::token_from_response(&reply, &digest)
        .expect("a granted, matching time-stamp token");

    // Downloaded bytes validate offline against what /trust gives.
    let bytes = camille.document_content(&doc.id).await.unwrap();
    assert_eq!(bytes.as_ref(), sealed.as_slice());
    let trust = anon.trust().await.unwrap();
    let anchors = trust
        .anchors
        .iter()
        .flat_map(|p| Certificate::from_pem_chain(p).unwrap())
        .collect();
    let crls = trust
        .crls
        .iter()
        .map(|p| Crl::from_pem_or_der(p.as_bytes()).unwrap())
        .collect();
    let report = coffre_seal::validate(
        &bytes,
        &ValidationConfig::new(anchors, crls, UnixTime(START + 60)),
    )
    .unwrap();
    assert_eq!(report.status(), Status::TotalPassed);

    // Status now shows the safe, with the address masked.
    let status = uni.student_status("S001").await.unwrap();
    assert_eq!(status.status, AccountState::Finalised);
    assert_eq!(
        status.masked_email.as_deref(),
        Some("c•••••••••••••@example.org")
    );

    // The code cannot be used twice.
    let reuse = anon
        .identify(&Identify {
            student_number: "S001".into(),
            activation_code: codes["S001"].clone(),
        })
        .await;
    assert_eq!(code(&reuse.unwrap_err()), ErrorCode::WrongCode);

    // Another student finalises and cannot see Camille's documents.
    let lucas = finalise(&server, "S002", &codes["S002"], "lucas.martin@example.org").await;
    assert_eq!(
        lucas
            .documents(&DocumentQuery::default())
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        code(&lucas.document_content(&doc.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(&lucas.document(&doc.id).await.unwrap_err()),
        ErrorCode::NotFound
    );

    // Sign out, then in again.
    camille.sign_out().await.unwrap();
    assert_eq!(
        code(&camille.me().await.unwrap_err()),
        ErrorCode::Unauthorized
    );
    let bad = anon
        .sign_in(&SignIn {
            email: "camille.dupont@example.org".into(),
            password: "wrong password".into(),
        })
        .await;
    assert_eq!(code(&bad.unwrap_err()), ErrorCode::Unauthorized);
    let back = anon
        .sign_in(&SignIn {
            email: "Camille.Dupont@example.org".into(),
            password: "a long passphrase".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        anon.with_token(&back.token).me().await.unwrap().first_name,
        "Camille"
    );
}

/// Runs the three steps for a new safe and returns a signed-in client.
pub async fn finalise(
    server: &TestServer,
    student: &str,
    activation_code: &str,
    email: &str,
) -> coffre_api::Client {
    let anon = server.client();
    let who = anon
        .identify(&Identify {
            student_number: student.into(),
            activation_code: activation_code.into(),
        })
        .await
        .unwrap();
    let token = who.activation_token;
    anon.choose_email(&ChooseEmail {
        activation_token: token.clone(),
        email: email.into(),
    })
    .await
    .unwrap();
    let code = server.emailed_code(email);
    anon.verify_email(&VerifyEmail {
        activation_token: token.clone(),
        code,
    })
    .await
    .unwrap();
    let session = anon
        .complete(&Complete {
            activation_token: token,
            safe: SafeChoice::New {
                password: "another passphrase".into(),
            },
        })
        .await
        .unwrap();
    anon.with_token(&session.token)
}
