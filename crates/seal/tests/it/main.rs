//! Integration tests of coffre-seal: sealing round trips and the tamper
//! table. One test binary (modules below).

#[path = "../support/sample.rs"]
mod sample;

mod tamper;

use coffre_seal::pki::DemoPki;
use coffre_seal::{Crl, Level, LocalTsa, SealConfig, UnixTime};

/// The pinned clock of every test: 2027-01-15T08:00:00Z.
pub const NOW: UnixTime = UnixTime(1_800_000_000);
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

pub fn pki() -> DemoPki {
    DemoPki::generate("Université Démo", NOW).expect("demo PKI")
}

pub fn tsa(pki: &DemoPki, at: UnixTime) -> LocalTsa {
    let key = coffre_seal::SigningKey::from_pem(&pki.tsa_key.to_pem()).unwrap();
    LocalTsa::new(key, pki.tsa_chain(), move || at).unwrap()
}

pub fn seal_with(pdf: &[u8], pki: &DemoPki, level: Level, crls: Vec<Crl>, certify: bool) -> Vec<u8> {
    let tsa = tsa(pki, NOW);
    coffre_seal::seal(
        pdf,
        &SealConfig {
            key: &pki.seal_key,
            chain: pki.seal_chain(),
            level,
            time: NOW,
            timestamper: Some(&tsa),
            crls,
            certify,
            reason: Some("Relevé de notes officiel".into()),
        },
    )
    .expect("sealing")
}
