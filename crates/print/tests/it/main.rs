//! The printable copy, read back by the tools a person would use:
//! `pdftotext`, `pdftoppm` and `zbarimg` (Debian's poppler-utils and
//! zbar-tools; `cargo xtask test` installs them, and with
//! COFFRE_REQUIRE_EXTERNAL=1 a missing one is a failure, not a skip).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod copies;

use coffre_print::attestation::{self, Statement};
use coffre_print::{CopyOptions, DocumentFacts, Lang, Qr};
use coffre_seal::pki::DemoPki;
use coffre_seal::{
    Certificate, Level, LocalTsa, SealConfig, SigningKey, UnixTime, ValidationConfig,
};

/// The pinned clock of every test: 2027-01-15T08:00:00Z.
pub const NOW: UnixTime = UnixTime(1_800_000_000);
pub const DAY: i64 = 86_400;
pub const SERVER: &str = "https://coffre.example";

/// A demo PKI with the operator's attestation key beside it.
#[allow(missing_debug_implementations)]
pub struct Operator {
    pub pki: DemoPki,
    pub attestation_key: SigningKey,
    pub attestation: Certificate,
}

impl Operator {
    pub fn new(university: &str) -> Operator {
        let pki = DemoPki::generate(university, NOW).unwrap();
        let (attestation_key, attestation) = pki.attestation(NOW).unwrap();
        Operator {
            pki,
            attestation_key,
            attestation,
        }
    }

    pub fn seal(&self, pdf: &[u8]) -> Vec<u8> {
        let key = SigningKey::from_pem(&self.pki.tsa_key.to_pem()).unwrap();
        let tsa = LocalTsa::new(key, self.pki.tsa_chain(), || NOW).unwrap();
        coffre_seal::seal(
            pdf,
            &SealConfig {
                key: &self.pki.seal_key,
                chain: self.pki.seal_chain(),
                level: Level::BLt,
                time: NOW,
                timestamper: Some(&tsa),
                crls: vec![self.pki.crl.clone(), self.pki.root_crl.clone()],
                certify: false,
                reason: None,
            },
        )
        .unwrap()
    }

    pub fn validation(&self) -> ValidationConfig {
        ValidationConfig::new(
            vec![self.pki.root.clone()],
            vec![self.pki.crl.clone(), self.pki.root_crl.clone()],
            UnixTime(NOW.0 + DAY),
        )
    }

    pub fn attest(&self, original: &[u8], student: &str, title: &str) -> String {
        attestation::sign(
            &Statement {
                issuer: "Université de Coffre-sur-Seine".into(),
                student: student.into(),
                title: title.into(),
                kind: "transcript".into(),
                year: Some("2025-2026".into()),
                sha256: coffre_seal::sha256(original),
                deposited_at: NOW,
                document_id: "0123456789abcdef0123456789abcdef".into(),
                issued_at: UnixTime(NOW.0 + 3600),
            },
            &self.attestation_key,
            &self.attestation,
            SERVER,
        )
        .unwrap()
    }

    pub fn check(&self, text: &str) -> Result<attestation::Checked, attestation::CheckError> {
        attestation::check(
            text,
            std::slice::from_ref(&self.attestation),
            std::slice::from_ref(&self.pki.intermediate),
            &self.validation(),
        )
    }
}

pub fn options(lang: Lang, student: &str, qr: Qr) -> CopyOptions {
    CopyOptions {
        lang,
        printed_at: UnixTime(NOW.0 + DAY),
        facts: DocumentFacts {
            title: Some("Relevé de notes / Transcript".into()),
            kind: Some("transcript".into()),
            year: Some("2025-2026".into()),
            student: Some(student.into()),
            issuer: Some("Université de Coffre-sur-Seine".into()),
        },
        qr,
        revocation_date: Some(UnixTime(NOW.0 - 3600)),
    }
}
