//! Integration tests of coffre-seal: sealing round trips and the tamper
//! table. One test binary (modules below).

// Test helpers outside #[test] functions unwrap too: a failure there is a
// test failure, reported with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coffre_print::sample;

mod foreign;
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

pub fn seal_with(
    pdf: &[u8],
    pki: &DemoPki,
    level: Level,
    crls: Vec<Crl>,
    certify: bool,
) -> Vec<u8> {
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

/// Inputs that once crashed the validator (found by `cargo xtask fuzz`):
/// each must now give a report or a not-a-PDF error.
#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let cfg = coffre_seal::ValidationConfig::new(vec![pki().root], Vec::new(), NOW);
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let _ = coffre_seal::validate(&bytes, &cfg);
        n += 1;
    }
    assert!(n > 0, "the regression corpus is empty");
}
