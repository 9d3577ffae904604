//! The safe after finalisation: personal files and the quota, renaming and
//! deleting, a second university joining an existing safe, and what the
//! organisation can change afterwards.

use coffre_api::{
    AccountState, ChooseEmail, Complete, DocumentKind, DocumentQuery, ErrorCode, Identify,
    SafeChoice, UploadParams, VerifyEmail,
};
use coffre_server::accounts::QUOTA_BYTES;
use coffre_server::orgs;

use crate::journey::finalise;
use crate::{storages, TestServer};

fn code(e: &coffre_api::Error) -> ErrorCode {
    e.code()
        .cloned()
        .unwrap_or_else(|| panic!("not an API error: {e}"))
}

fn pdf_of(size: usize, seed: u8) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    v.extend((0..size).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn personal_files_and_the_quota() {
    for storage in storages() {
        let server = TestServer::start(&storage, "quota").await;
        let (org, uni, imported) = server
            .university(
                "Université Q",
                "q.example",
                "Q1,Roux,Léa,2004-01-01,lea@q.example\n",
            )
            .await;
        let lea = finalise(
            &server,
            "Q1",
            &imported.created[0].activation_code,
            "lea.roux@example.org",
        )
        .await;

        // Own files: type-checked, counted, renamed, deleted.
        let params = |t: &str| UploadParams {
            title: t.into(),
            kind: Some(DocumentKind::Identity),
        };
        let gif = lea
            .upload(&params("photo"), b"GIF89a........".to_vec())
            .await;
        assert_eq!(code(&gif.unwrap_err()), ErrorCode::UnsupportedType);
        let id_card = lea
            .upload(&params("Carte d'identité"), pdf_of(10_000, 1))
            .await
            .unwrap();
        assert!(!id_card.sealed && id_card.size == 10_009);
        assert_eq!(lea.me().await.unwrap().used_bytes, 10_009);
        let renamed = lea
            .rename(&id_card.id, "Carte d'identité (recto-verso)")
            .await
            .unwrap();
        assert_eq!(renamed.title, "Carte d'identité (recto-verso)");
        let png = lea
            .upload(
                &params("scan"),
                [b"\x89PNG\r\n\x1a\n".as_slice(), &[7u8; 500]].concat(),
            )
            .await
            .unwrap();
        assert_eq!(
            lea.documents(&DocumentQuery::default())
                .await
                .unwrap()
                .total,
            2
        );
        lea.delete(&png.id).await.unwrap();
        assert_eq!(lea.me().await.unwrap().used_bytes, 10_009);
        assert_eq!(
            code(&lea.document(&png.id).await.unwrap_err()),
            ErrorCode::NotFound
        );

        // Eight uploads race for the last 1 MB: the safe ends at or under
        // its quota, and what was refused is not there.
        sqlx::query("UPDATE accounts SET used_bytes = $1 WHERE email = $2")
            .bind((QUOTA_BYTES - 1_000_000) as i64)
            .bind("lea.roux@example.org")
            .execute(&server.state.db.pool)
            .await
            .unwrap();
        let uploads = (0..8u8).map(|i| {
            let lea = lea.clone();
            tokio::spawn(async move {
                lea.upload(&params(&format!("scan {i}")), pdf_of(300_000, i))
                    .await
            })
        });
        let results = futures::future::join_all(uploads).await;
        let ok = results
            .iter()
            .filter(|r| r.as_ref().unwrap().is_ok())
            .count();
        let refused = results
            .iter()
            .filter(|r| matches!(r.as_ref().unwrap(), Err(e) if e.code() == Some(&ErrorCode::QuotaExceeded)))
            .count();
        assert_eq!(ok + refused, 8, "{results:?}");
        assert!((1..=3).contains(&ok), "{ok} uploads fit in 1 MB");
        let me = lea.me().await.unwrap();
        assert!(me.used_bytes <= me.quota_bytes);
        assert_eq!(me.used_bytes, QUOTA_BYTES - 1_000_000 + ok as u64 * 300_009);
        assert_eq!(
            lea.documents(&DocumentQuery::default())
                .await
                .unwrap()
                .total,
            1 + ok as u64
        );
        // Organisation deposits do not count against the quota.
        let sealed = server.seal(&org, &crate::transcript(9, "Léa Roux"));
        let params = coffre_api::DepositParams {
            student_number: "Q1".into(),
            kind: DocumentKind::Diploma,
            title: "Diplôme".into(),
            academic_year: "2025-2026".into(),
            source_sha256: None,
        };
        uni.deposit(&params, sealed).await.unwrap();
        assert_eq!(lea.me().await.unwrap().used_bytes, me.used_bytes);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_university_joins_an_existing_safe() {
    for storage in storages() {
        let server = TestServer::start(&storage, "existing").await;
        let first = orgs::create(&server.state, "Université Une", &["une.example".into()])
            .await
            .unwrap();
        let second = orgs::create(&server.state, "École Deux", &["deux.example".into()])
            .await
            .unwrap();
        let u1 = server.client().with_token(&first.api_key);
        let u2 = server.client().with_token(&second.api_key);
        let c1 = u1
            .import_roster("A1,Dupont,Camille,2004-09-17,c@une.example\n".into())
            .await
            .unwrap();
        let c2 = u2
            .import_roster("B7,Dupont,Camille,2004-09-17,c@deux.example\n".into())
            .await
            .unwrap();
        let sealed = server.seal(&second, &crate::transcript(2, "Camille Dupont"));
        let params = coffre_api::DepositParams {
            student_number: "B7".into(),
            kind: DocumentKind::Transcript,
            title: "Relevé".into(),
            academic_year: "2025-2026".into(),
            source_sha256: None,
        };
        u2.deposit(&params, sealed).await.unwrap();

        let camille = finalise(
            &server,
            "A1",
            &c1.created[0].activation_code,
            "camille@example.org",
        )
        .await;
        // "Do you already have a safe?" Yes.
        let anon = server.client();
        let who = anon
            .identify(&Identify {
                student_number: "B7".into(),
                activation_code: c2.created[0].activation_code.clone(),
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
        let code_ = server.emailed_code("camille@example.org");
        anon.verify_email(&VerifyEmail {
            activation_token: t.clone(),
            code: code_,
        })
        .await
        .unwrap();
        // "No, I create my safe" with an address in use is refused clearly.
        let dup = anon
            .complete(&Complete {
                activation_token: t.clone(),
                safe: SafeChoice::New {
                    password: "yet another one!".into(),
                },
            })
            .await;
        assert_eq!(code(&dup.unwrap_err()), ErrorCode::EmailInUse);
        let wrong = anon
            .complete(&Complete {
                activation_token: t.clone(),
                safe: SafeChoice::Existing {
                    email: "camille@example.org".into(),
                    password: "not my password".into(),
                },
            })
            .await;
        assert_eq!(code(&wrong.unwrap_err()), ErrorCode::Unauthorized);
        anon.complete(&Complete {
            activation_token: t,
            safe: SafeChoice::Existing {
                email: "camille@example.org".into(),
                password: "another passphrase".into(),
            },
        })
        .await
        .unwrap();
        let tabs = camille.organisations().await.unwrap();
        let names: Vec<&str> = tabs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["Université Une", "École Deux"]);
        assert_eq!(
            camille
                .documents(&DocumentQuery::default())
                .await
                .unwrap()
                .total,
            1
        );
        let by_org = DocumentQuery {
            organisation: Some("Université Une".into()),
            ..Default::default()
        };
        assert_eq!(camille.documents(&by_org).await.unwrap().total, 0);

        // Former student: the organisation is no longer current; the safe
        // and its documents stay.
        let st = u2.mark_former("B7").await.unwrap();
        assert!(st.former && st.status == AccountState::Finalised);
        let tabs = camille.organisations().await.unwrap();
        assert!(tabs.iter().any(|o| o.name == "École Deux" && !o.current));
        // Revoked consent on a finalised safe unlinks it; documents stay.
        assert_eq!(
            u2.refuse_student("B7").await.unwrap().status,
            AccountState::Refused
        );
        let names: Vec<String> = camille
            .organisations()
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(names, ["Université Une"]);
        assert_eq!(
            camille
                .documents(&DocumentQuery::default())
                .await
                .unwrap()
                .total,
            1
        );
        let again = server.seal(&second, &crate::transcript(3, "Camille Dupont"));
        assert_eq!(
            code(&u2.deposit(&params, again).await.unwrap_err()),
            ErrorCode::StudentRefused
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organisation_reissues_codes_and_removes_unfinished_safes() {
    for storage in storages() {
        let server = TestServer::start(&storage, "reissue").await;
        let (org, uni, codes) = server
            .university(
                "Université R",
                "r.example",
                "R1,Roux,Léa,2004-01-01,lea@r.example\nR2,Petit,Hugo,2004-01-01,hugo@r.example\n",
            )
            .await;
        let codes = codes.created;
        // A lost code: a new one replaces it.
        let fresh = uni.reissue_code("R1").await.unwrap();
        let anon = server.client();
        let old = anon
            .identify(&Identify {
                student_number: "R1".into(),
                activation_code: codes[0].activation_code.clone(),
            })
            .await;
        assert_eq!(code(&old.unwrap_err()), ErrorCode::WrongCode);
        anon.identify(&Identify {
            student_number: "R1".into(),
            activation_code: fresh.activation_code,
        })
        .await
        .unwrap();
        assert_eq!(
            code(&uni.reissue_code("R9").await.unwrap_err()),
            ErrorCode::UnknownStudent
        );

        // Consent revoked before finalisation: the safe and its deposits go.
        let sealed = server.seal(&org, &crate::transcript(4, "Hugo Petit"));
        let params = coffre_api::DepositParams {
            student_number: "R2".into(),
            kind: DocumentKind::Transcript,
            title: "Relevé".into(),
            academic_year: "2025-2026".into(),
            source_sha256: None,
        };
        uni.deposit(&params, sealed).await.unwrap();
        assert_eq!(
            uni.refuse_student("R2").await.unwrap().status,
            AccountState::Refused
        );
        let left: i64 = sqlx::Row::get(
            &sqlx::query("SELECT COUNT(*) AS n FROM documents d JOIN enrolments e ON e.id = d.enrolment_id WHERE e.student_number = 'R2'")
                .fetch_one(&server.state.db.pool)
                .await
                .unwrap(),
            "n",
        );
        assert_eq!(left, 0);
        assert_eq!(
            code(&uni.reissue_code("R2").await.unwrap_err()),
            ErrorCode::StudentRefused
        );
        let again = anon
            .identify(&Identify {
                student_number: "R2".into(),
                activation_code: codes[1].activation_code.clone(),
            })
            .await;
        assert_eq!(code(&again.unwrap_err()), ErrorCode::WrongCode);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_blobs_are_collected_after_their_grace() {
    for storage in storages() {
        let server = TestServer::start(&storage, "orphans").await;
        let org = orgs::create(&server.state, "Université O", &["o.example".into()])
            .await
            .unwrap();
        let uni = server.client().with_token(&org.api_key);
        uni.import_roster("O1,Roux,Léa,2004-01-01,lea@o.example\n".into())
            .await
            .unwrap();
        let sealed = server.seal(&org, &crate::transcript(12, "Léa Roux"));
        let params = coffre_api::DepositParams {
            student_number: "O1".into(),
            kind: DocumentKind::Transcript,
            title: "Relevé".into(),
            academic_year: "2025-2026".into(),
            source_sha256: None,
        };
        let kept = uni.deposit(&params, sealed).await.unwrap();
        // A blob written by an upload that never committed.
        let orphan = server
            .state
            .blobs
            .put(bytes::Bytes::from_static(b"%PDF-1.7 never committed"))
            .await
            .unwrap();
        assert_eq!(
            coffre_server::collect_orphans(&server.state, 3600)
                .await
                .unwrap(),
            0,
            "still within its grace"
        );
        assert_eq!(
            coffre_server::collect_orphans(&server.state, 0)
                .await
                .unwrap(),
            1
        );
        let left = server.state.blobs.list().await.unwrap();
        assert_eq!(left, std::slice::from_ref(&kept.sha256));
        assert!(!left.contains(&orphan));

        // Deletions cut by a crash between setting aside and deleting: the
        // named blob comes back, the unnamed one goes.
        let orphan = server
            .state
            .blobs
            .put(bytes::Bytes::from_static(b"%PDF-1.7 deleted"))
            .await
            .unwrap();
        let blobs = &server.state.blobs;
        blobs.set_aside(&kept.sha256).await.unwrap().unwrap();
        blobs.set_aside(&orphan).await.unwrap().unwrap();
        assert!(blobs.list().await.unwrap().is_empty());
        // Within the grace they may be deletions still under way.
        coffre_server::collect_orphans(&server.state, 3600)
            .await
            .unwrap();
        assert_eq!(blobs.list_aside().await.unwrap().len(), 2);
        coffre_server::collect_orphans(&server.state, 0)
            .await
            .unwrap();
        assert_eq!(
            blobs.list().await.unwrap(),
            std::slice::from_ref(&kept.sha256)
        );
        assert!(blobs.list_aside().await.unwrap().is_empty());
    }
}

/// Axum's own rejections reach callers as `{code, message}` too: a deposit
/// over its limit, a malformed JSON body, an unknown path, a wrong method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_is_json() {
    let storage = &storages()[0];
    let server = TestServer::start(storage, "jsonerrors").await;
    let (_, client, _) = server
        .university(
            "Université Une",
            "une.example",
            "A1,Dupont,Camille,2004-09-17,c@une.example\n",
        )
        .await;
    let params = coffre_api::DepositParams {
        student_number: "A1".into(),
        kind: DocumentKind::Transcript,
        title: "Relevé".into(),
        academic_year: "2025-2026".into(),
        source_sha256: None,
    };
    let huge = pdf_of(coffre_server::documents::MAX_DEPOSIT_BYTES, 1);
    let err = client.deposit(&params, huge).await.unwrap_err();
    assert_eq!(code(&err), ErrorCode::TooLarge, "{err}");

    let http = reqwest::Client::new();
    let cases = [
        (
            http.post(format!("{}/api/v1/activation/identify", server.url()))
                .header("Content-Type", "application/json")
                .body("{not json"),
            400,
            "invalid_request",
        ),
        (
            http.get(format!("{}/api/v1/no-such-thing", server.url())),
            404,
            "not_found",
        ),
        (
            http.delete(format!("{}/api/v1/trust", server.url())),
            405,
            "invalid_request",
        ),
    ];
    for (req, status, code) in cases {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        let allow = resp.headers().get("allow").cloned();
        let body: coffre_api::ErrorBody = resp.json().await.unwrap();
        assert_eq!(body.code, code, "{}", body.message);
        assert!(!body.message.is_empty());
        if status == 405 {
            assert!(allow.is_some(), "the Allow header is kept");
        }
    }
}

/// Two students keep the same file (one blob): while one deletes it, the
/// other uploads it again. Whatever the interleaving, every listed
/// document can be downloaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blob_is_never_deleted_under_a_document_that_names_it() {
    for storage in storages() {
        let server = TestServer::start(&storage, "race").await;
        let (_, _, imported) = server
            .university(
                "Université R",
                "r.example",
                "R1,Roux,Léa,2004-01-01,lea@r.example\nR2,Petit,Hugo,2004-01-01,hugo@r.example\n",
            )
            .await;
        let code = |n: &str| {
            imported
                .created
                .iter()
                .find(|c| c.student_number == n)
                .unwrap()
                .activation_code
                .clone()
        };
        let lea = finalise(&server, "R1", &code("R1"), "lea.roux@example.org").await;
        let hugo = finalise(&server, "R2", &code("R2"), "hugo.petit@example.org").await;
        let params = UploadParams {
            title: "Règlement".into(),
            kind: None,
        };
        for round in 0..40u32 {
            let bytes = pdf_of(2_000, (round % 251) as u8);
            let mine = lea.upload(&params, bytes.clone()).await.unwrap();
            let (deleted, theirs) =
                tokio::join!(lea.delete(&mine.id), hugo.upload(&params, bytes.clone()));
            deleted.unwrap_or_else(|e| panic!("{storage:?}, round {round}: deleting: {e}"));
            let theirs =
                theirs.unwrap_or_else(|e| panic!("{storage:?}, round {round}: uploading: {e}"));
            let got = hugo.document_content(&theirs.id).await;
            assert_eq!(
                got.map(|b| b.to_vec()).ok().as_deref(),
                Some(bytes.as_slice()),
                "round {round}: the document's bytes are gone"
            );
            hugo.delete(&theirs.id).await.unwrap();
        }
    }
}
