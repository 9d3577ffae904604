//! Passwords, the lost-address support request, the student's status
//! check, and the rights of the legal notice: export, rectify, erase.

use coffre_api::{
    AccountState, ChangeEmail, ChangePassword, ConfirmEmail, ConfirmPasswordReset, DepositParams,
    DocumentKind, Erase, ErrorCode, Rectify, RequestPasswordReset, SignIn, StatusQuery,
    SupportRequest, UploadParams,
};
use coffre_server::support;

use crate::journey::finalise;
use crate::{storages, TestServer};

fn code(e: &coffre_api::Error) -> ErrorCode {
    e.code()
        .cloned()
        .unwrap_or_else(|| panic!("not an API error: {e}"))
}

/// (name, bytes) of each file in a ustar archive.
fn untar(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while data.len() >= 512 && data[0] != 0 {
        let name = String::from_utf8_lossy(&data[..100])
            .trim_end_matches('\0')
            .to_owned();
        let size = usize::from_str_radix(std::str::from_utf8(&data[124..135]).unwrap(), 8).unwrap();
        assert_eq!(&data[257..262], b"ustar");
        let sum: u32 = data[..512]
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(*b)
                }
            })
            .sum();
        let stored = u32::from_str_radix(std::str::from_utf8(&data[148..154]).unwrap(), 8).unwrap();
        assert_eq!(sum, stored, "checksum of {name}");
        out.push((name, data[512..512 + size].to_vec()));
        data = &data[512 + size.div_ceil(512) * 512..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_support_and_status() {
    for storage in storages() {
        let server = TestServer::start(&storage, "passwords").await;
        let (_, _, imported) = server
            .university(
                "Université P",
                "p.example",
                "P1,Roux,Léa,2004-01-01,lea@p.example\n",
            )
            .await;
        let created = imported.created;
        let lea = finalise(
            &server,
            "P1",
            &created[0].activation_code,
            "lea@example.org",
        )
        .await;
        let anon = server.client();

        // Change, knowing the current password.
        let bad = lea
            .change_password(&ChangePassword {
                current_password: "nope nope nope".into(),
                new_password: "a brand new one".into(),
            })
            .await;
        assert_eq!(code(&bad.unwrap_err()), ErrorCode::Unauthorized);
        lea.change_password(&ChangePassword {
            current_password: "another passphrase".into(),
            new_password: "a brand new one".into(),
        })
        .await
        .unwrap();
        anon.sign_in(&SignIn {
            email: "lea@example.org".into(),
            password: "a brand new one".into(),
        })
        .await
        .unwrap();

        // Reset by e-mailed code: same answer for an unknown address.
        let before = server.emails_to("lea@example.org").len();
        anon.request_password_reset(&RequestPasswordReset {
            email: "nobody@example.org".into(),
        })
        .await
        .unwrap();
        anon.request_password_reset(&RequestPasswordReset {
            email: "LEA@example.org".into(),
        })
        .await
        .unwrap();
        let reset_code = server.wait_for_new_code("lea@example.org", before).await;
        let wrong = anon
            .confirm_password_reset(&ConfirmPasswordReset {
                email: "lea@example.org".into(),
                code: if reset_code == "123456" {
                    "654321".into()
                } else {
                    "123456".into()
                },
                new_password: "reset passphrase".into(),
            })
            .await;
        assert_eq!(code(&wrong.unwrap_err()), ErrorCode::WrongCode);
        anon.confirm_password_reset(&ConfirmPasswordReset {
            email: "lea@example.org".into(),
            code: reset_code,
            new_password: "reset passphrase".into(),
        })
        .await
        .unwrap();
        assert_eq!(
            code(&lea.me().await.unwrap_err()),
            ErrorCode::Unauthorized,
            "sessions end on reset"
        );
        anon.sign_in(&SignIn {
            email: "lea@example.org".into(),
            password: "reset passphrase".into(),
        })
        .await
        .unwrap();

        // The student's own status check.
        let q = |last: &str| StatusQuery {
            student_number: "P1".into(),
            last_name: last.into(),
            birth_date: "2004-01-01".into(),
        };
        let st = anon.account_status(&q("ROUX")).await.unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(
            (st[0].status, st[0].masked_email.as_deref()),
            (AccountState::Finalised, Some("l•••@example.org"))
        );
        assert_eq!(st[0].organisation.as_deref(), Some("Université P"));
        assert_eq!(
            anon.account_status(&q("Autre")).await.unwrap()[0].status,
            AccountState::NotProvisioned
        );

        // A lost sign-in address: the request, the operator's view, the answer.
        let ticket = anon
            .support(&SupportRequest {
                last_name: "Roux".into(),
                first_name: "Léa".into(),
                birth_date: "2004-01-01".into(),
                university: "Université P".into(),
                student_number: "P1".into(),
                possible_emails: vec!["lea.old@example.net".into(), "l.roux@example.com".into()],
                message: "Je ne sais plus quelle adresse j'ai utilisée.".into(),
            })
            .await
            .unwrap();
        let open = support::open_requests(&server.state).await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].id, ticket.reference);
        assert!(
            open[0].matches[0].contains("Université P")
                && open[0].matches[0].contains("l•••@example.org"),
            "{:?}",
            open[0].matches
        );
        let sent = support::answer(
            &server.state,
            ticket.reference,
            "Votre adresse de connexion commence par l et finit par @example.org.",
        )
        .await
        .unwrap();
        assert_eq!(sent, 2);
        assert!(support::open_requests(&server.state)
            .await
            .unwrap()
            .is_empty());
        let incomplete = anon
            .support(&SupportRequest {
                last_name: "".into(),
                first_name: "Léa".into(),
                birth_date: "2004-01-01".into(),
                university: "U".into(),
                student_number: "P1".into(),
                possible_emails: vec![],
                message: String::new(),
            })
            .await;
        assert_eq!(code(&incomplete.unwrap_err()), ErrorCode::InvalidRequest);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_rectify_and_erase() {
    for storage in storages() {
        let server = TestServer::start(&storage, "rights").await;
        let (org, uni, imported) = server
            .university(
                "Université D",
                "d.example",
                "D1,Roux,Léa,2004-01-01,lea@d.example\nD2,Petit,Hugo,2004-01-01,hugo@d.example\n",
            )
            .await;
        let created = imported.created;
        let sealed = server.seal(&org, &crate::transcript(11, "Léa Roux"));
        let params = DepositParams {
            student_number: "D1".into(),
            kind: DocumentKind::Transcript,
            title: "Relevé de notes".into(),
            academic_year: "2025-2026".into(),
            source_sha256: None,
        };
        uni.deposit(&params, sealed.clone()).await.unwrap();
        let lea = finalise(
            &server,
            "D1",
            &created[0].activation_code,
            "lea@example.org",
        )
        .await;
        let own = b"%PDF-1.4\nmon CV".to_vec();
        lea.upload(
            &UploadParams {
                title: "CV".into(),
                kind: None,
            },
            own.clone(),
        )
        .await
        .unwrap();

        // Export: one archive with the metadata and both documents.
        let files = untar(&lea.export().await.unwrap());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(names[0], "metadata.json");
        let meta: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
        assert_eq!(meta["account"]["email"], "lea@example.org");
        assert_eq!(meta["documents"].as_array().unwrap().len(), 2);
        assert!(files.iter().any(|(_, b)| b == &sealed) && files.iter().any(|(_, b)| b == &own));

        // Rectify: names, and the address (re-verified).
        let me = lea
            .rectify(&Rectify {
                first_name: "Léa-Marie".into(),
                last_name: "Roux".into(),
            })
            .await
            .unwrap();
        assert_eq!(me.initials, "LR");
        let hugo = finalise(
            &server,
            "D2",
            &created[1].activation_code,
            "hugo@example.org",
        )
        .await;
        // The password is asked again; an address another safe uses gets
        // the same answer (its owner is told, no code is sent).
        let no_password = lea
            .change_email(&ChangeEmail {
                email: "lea.roux@example.net".into(),
                password: "not my password".into(),
            })
            .await;
        assert_eq!(code(&no_password.unwrap_err()), ErrorCode::Unauthorized);
        lea.change_email(&ChangeEmail {
            email: "hugo@example.org".into(),
            password: "another passphrase".into(),
        })
        .await
        .unwrap();
        let notice = server.nth_email("hugo@example.org", 2).await;
        assert!(
            notice.contains("nothing changed") && !notice.contains("code is"),
            "{notice}"
        );
        lea.change_email(&ChangeEmail {
            email: "lea.roux@example.net".into(),
            password: "another passphrase".into(),
        })
        .await
        .unwrap();
        let c = server.wait_for_code("lea.roux@example.net", 1).await;
        assert_eq!(
            lea.confirm_email(&ConfirmEmail { code: c })
                .await
                .unwrap()
                .email,
            "lea.roux@example.net"
        );
        // The old address is told, with a code that undoes the change.
        let told = server.nth_email("lea@example.org", 2).await;
        assert!(
            told.contains("lea.roux@example.net") && told.contains("undo it within 7 days"),
            "{told}"
        );
        let anon = server.client();
        anon.sign_in(&SignIn {
            email: "lea.roux@example.net".into(),
            password: "another passphrase".into(),
        })
        .await
        .unwrap();

        // Erase: the password again, then everything goes.
        let wrong = lea
            .erase(&Erase {
                password: "not it at all".into(),
            })
            .await;
        assert_eq!(code(&wrong.unwrap_err()), ErrorCode::Unauthorized);
        let blobs_before = server.state.blobs.list().await.unwrap().len();
        lea.erase(&Erase {
            password: "another passphrase".into(),
        })
        .await
        .unwrap();
        assert_eq!(code(&lea.me().await.unwrap_err()), ErrorCode::Unauthorized);
        let gone = anon
            .sign_in(&SignIn {
                email: "lea.roux@example.net".into(),
                password: "another passphrase".into(),
            })
            .await;
        assert_eq!(code(&gone.unwrap_err()), ErrorCode::Unauthorized);
        assert_eq!(
            server.state.blobs.list().await.unwrap().len(),
            blobs_before - 2
        );
        assert_eq!(
            uni.student_status("D1").await.unwrap().status,
            AccountState::Refused
        );
        // Others are untouched.
        assert_eq!(hugo.me().await.unwrap().email, "hugo@example.org");
    }
}
