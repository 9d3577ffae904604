//! `coffre serve --demo`: a demo university with three students, each with
//! a sealed transcript and certificate of achievement waiting in a
//! pre-created safe, and their activation codes printed.

use anyhow::Result;
use bytes::Bytes;
use coffre_api::{DepositParams, DocumentKind, RosterRow};
use coffre_seal::{Level, SealConfig};

use crate::{documents, orgs, AppState};

// Sample documents until crates/print makes real ones.
use coffre_print::sample;

pub const DEMO_UNIVERSITY: &str = "Université Démo";

/// What the demo created, to print.
#[derive(Debug)]
pub struct Demo {
    pub api_key: String,
    pub students: Vec<(String, String, String)>,
}

/// The demo's API key cannot be shown again: it is stored hashed.
pub const KEY_ALREADY_SHOWN: &str = "(shown when the demo was created)";

/// Creates the demo once. On later starts, students who have not
/// finalised get fresh activation codes (the old ones are stored hashed
/// and cannot be shown again).
pub async fn seed(state: &AppState) -> Result<Demo> {
    let exists = sqlx::query("SELECT id, name, domains FROM organisations WHERE name = $1")
        .bind(DEMO_UNIVERSITY)
        .fetch_optional(&state.db.pool)
        .await?;
    if let Some(row) = exists {
        let domains: String = crate::db::col(&row, "domains")?;
        let org = orgs::Org {
            id: crate::db::col(&row, "id")?,
            name: crate::db::col(&row, "name")?,
            domains: domains.split(',').map(str::to_owned).collect(),
        };
        let rows = sqlx::query(
            "SELECT student_number, first_name, last_name FROM enrolments WHERE org_id = $1 AND state = 'pre_created' \
             ORDER BY student_number",
        )
        .bind(org.id)
        .fetch_all(&state.db.pool)
        .await?;
        let mut students = Vec::new();
        for r in rows {
            let number: String = crate::db::col(&r, "student_number")?;
            let code = orgs::reissue_code(state, &org, &number)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let name = format!(
                "{} {}",
                crate::db::col::<String>(&r, "first_name")?,
                crate::db::col::<String>(&r, "last_name")?
            );
            students.push((number, name, code.activation_code));
        }
        return Ok(Demo {
            api_key: KEY_ALREADY_SHOWN.into(),
            students,
        });
    }
    let org_keys = orgs::create(state, DEMO_UNIVERSITY, &["univ-demo.example".to_owned()]).await?;
    let org = orgs::authenticate(state, &org_keys.api_key)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let people = [
        ("20250001", "Dupont", "Camille", "2004-09-17"),
        ("20250002", "Martin", "Lucas", "2003-02-28"),
        ("20250003", "Bernard", "Inès", "2005-06-01"),
    ];
    let rows: Vec<RosterRow> = people
        .iter()
        .map(|(n, last, first, born)| RosterRow {
            student_number: (*n).to_owned(),
            last_name: (*last).to_owned(),
            first_name: (*first).to_owned(),
            birth_date: (*born).to_owned(),
            institutional_email: format!(
                "{}.{}@etu.univ-demo.example",
                first.to_lowercase(),
                last.to_lowercase()
            ),
            refused: false,
        })
        .collect();
    let imported = orgs::import_roster(state, &org, &rows)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut chain = vec![org_keys.seal_cert.clone()];
    chain.extend(org_keys.chain.iter().cloned());
    let now = (state.clock)();
    let cfg = SealConfig {
        key: &org_keys.seal_key,
        chain,
        level: Level::BLt,
        time: now,
        timestamper: Some(&state.operator.tsa),
        crls: state.operator.crls().to_vec(),
        certify: false,
        reason: Some("Original numérique / Digital original".into()),
    };
    let mut students = Vec::new();
    for (i, ((number, last, first, _), code)) in people.iter().zip(&imported.created).enumerate() {
        for (kind, title) in [
            (
                DocumentKind::Transcript,
                "Relevé de notes / Transcript 2025-2026",
            ),
            (
                DocumentKind::CertificateOfAchievement,
                "Attestation de réussite / Certificate of achievement 2025-2026",
            ),
        ] {
            let seed = i as u64 * 2 + kind as u64;
            let name = format!("{first} {last}");
            let pdf = match kind {
                DocumentKind::CertificateOfAchievement => sample::certificate_pdf(seed, &name),
                _ => sample::transcript_pdf(seed, &name),
            };
            let sealed = coffre_seal::seal(&pdf, &cfg)?;
            let params = DepositParams {
                student_number: (*number).to_owned(),
                kind,
                title: title.to_owned(),
                academic_year: "2025-2026".to_owned(),
                source_sha256: None,
            };
            documents::deposit(state, &org, &params, Bytes::from(sealed))
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        students.push((
            (*number).to_owned(),
            format!("{first} {last}"),
            code.activation_code.clone(),
        ));
    }
    Ok(Demo {
        api_key: org_keys.api_key,
        students,
    })
}
