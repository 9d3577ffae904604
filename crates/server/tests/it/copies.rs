//! Printed copies: the attestation of a deposited original, checked with
//! the trust material alone, and the page a phone opens.

use coffre_api::{DocumentKind, DocumentQuery, ErrorCode, UploadParams};
use coffre_seal::{Certificate, Crl, UnixTime, ValidationConfig};

use crate::journey::finalise;
use crate::{storages, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestations_for_deposits_only_and_for_their_owner() {
    for storage in storages() {
        let server = TestServer::start(&storage, "attest").await;
        let (org, uni, imported) = server
            .university(
                "Université de Coffre-sur-Seine",
                "coffre-sur-seine.example",
                "A1,Żółć,Łukasz,2004-01-01,a1@coffre-sur-seine.example\n\
                 A2,Roux,Léa,2004-02-02,a2@coffre-sur-seine.example\n",
            )
            .await;
        let original = server.seal(&org, &crate::transcript(5, "Lukasz Zolc"));
        uni.deposit(
            &coffre_api::DepositParams {
                student_number: "A1".into(),
                kind: DocumentKind::Transcript,
                title: "Relevé de notes / Transcript".into(),
                academic_year: "2025-2026".into(),
                source_sha256: None,
            },
            original.clone(),
        )
        .await
        .unwrap();
        let lukasz = finalise(
            &server,
            "A1",
            &imported.created[0].activation_code,
            "lukasz@example.org",
        )
        .await;
        let lea = finalise(
            &server,
            "A2",
            &imported.created[1].activation_code,
            "lea@example.org",
        )
        .await;
        let doc = lukasz
            .documents(&DocumentQuery::default())
            .await
            .unwrap()
            .documents[0]
            .clone();

        let text = lukasz.document_attestation(&doc.id).await.unwrap().text;
        assert!(
            text.starts_with("http://") && text.contains("/c/"),
            "{text}"
        );
        // Checked with what /api/v1/trust gives, offline.
        let trust = server.client().trust().await.unwrap();
        let pems = |list: &[String]| -> Vec<Certificate> {
            list.iter()
                .flat_map(|p| Certificate::from_pem_chain(p).unwrap())
                .collect()
        };
        let anchors = pems(&trust.anchors);
        let attestation = pems(&trust.attestation);
        assert_eq!(
            attestation.len(),
            2,
            "the attestation certificate and its CA"
        );
        let crls: Vec<Crl> = trust
            .crls
            .iter()
            .map(|p| Crl::from_pem_or_der(p.as_bytes()).unwrap())
            .collect();
        let now = (server.state.clock)();
        let cfg = ValidationConfig::new(anchors, crls, UnixTime(now.0 + 60));
        let checked =
            coffre_print::attestation::check(&text, &attestation, &attestation, &cfg).unwrap();
        let s = checked.statement;
        assert_eq!(s.issuer, "Université de Coffre-sur-Seine");
        assert_eq!(s.student, "Łukasz Żółć");
        assert_eq!(s.title, "Relevé de notes / Transcript");
        assert_eq!(s.kind, "transcript");
        assert_eq!(s.year.as_deref(), Some("2025-2026"));
        assert_eq!(s.sha256, coffre_seal::sha256(&original));
        assert_eq!(s.document_id, doc.id);
        assert!(checked.revocation_checked);

        // Another student's document: as if it did not exist.
        let err = lea.document_attestation(&doc.id).await.unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::NotFound));
        // A personal upload has none, and says why.
        let own = lea
            .upload(
                &UploadParams {
                    title: "Carte d'identité".into(),
                    kind: Some(DocumentKind::Identity),
                },
                b"%PDF-1.7\n%%EOF\n".to_vec(),
            )
            .await
            .unwrap();
        let err = lea.document_attestation(&own.id).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(&ErrorCode::Other("not_attested".into())),
            "{err}"
        );
        assert!(err.to_string().contains("own files"), "{err}");

        // The page a phone opens: the statement, checked by the server.
        let path = &text[text.find("/c/").unwrap()..];
        let page = reqwest::get(format!("{}{path}", server.url()))
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("script"),
            "{csp}"
        );
        let html = page.text().await.unwrap();
        assert!(
            html.contains("Attestation vérifiée") && html.contains("Łukasz Żółć"),
            "{html}"
        );
        // A damaged code says so, with no server error.
        let mut damaged = path.to_owned();
        damaged.truncate(damaged.len() - 10);
        let page = reqwest::get(format!("{}{damaged}", server.url()))
            .await
            .unwrap();
        assert_eq!(page.status(), 422);
        assert!(page
            .text()
            .await
            .unwrap()
            .contains("n'a pas pu être vérifiée"));
        let page = reqwest::get(format!("{}/c/<script>", server.url()))
            .await
            .unwrap();
        assert_eq!(page.status(), 422);
    }
}
