//! Reading keys, certificates and CRLs named on the command line, with the
//! file name in every error.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use coffre_seal::{Certificate, Crl, SigningKey};

pub fn read_text(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
}

pub fn key(p: &Path) -> Result<SigningKey> {
    SigningKey::from_pem(&read_text(p)?).with_context(|| format!("reading {}", p.display()))
}

/// Every certificate of a PEM file, in order.
pub fn certs(p: &Path) -> Result<Vec<Certificate>> {
    Certificate::from_pem_chain(&read_text(p)?).with_context(|| format!("reading {}", p.display()))
}

pub fn crls(paths: &[PathBuf]) -> Result<Vec<Crl>> {
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            Crl::from_pem_or_der(&bytes).with_context(|| format!("reading {}", p.display()))
        })
        .collect()
}
