//! The roots seals are checked against, and the revocation lists cached
//! for checking offline. A deployment may ship its operator's root with
//! the app; without one, the root the server gives on first contact is
//! pinned, and a later different root is refused (never silently put in
//! its place). Files under `DATA_DIR/trust/`: `anchors.pem` (pinned),
//! `crls.pem`, `fetched-at`.

use std::path::{Path, PathBuf};

use coffre_seal::{Certificate, Crl, UnixTime, ValidationConfig};

use crate::error::{code, AppError, AppResult};
use crate::view::{AnchorSource, AnchorView};

#[derive(Debug)]
pub struct Trust {
    dir: PathBuf,
    bundled: Vec<Certificate>,
    pinned: Vec<Certificate>,
    crls: Vec<Crl>,
    fetched_at: Option<i64>,
    /// The server last offered roots other than ours.
    pub changed: bool,
}

impl Trust {
    /// Reads what was pinned and cached; `bundled_pem` is the root shipped
    /// with the app, if any.
    pub fn open(dir: &Path, bundled_pem: Option<&str>) -> AppResult<Trust> {
        let bundled = match bundled_pem {
            Some(pem) => Certificate::from_pem_chain(pem)
                .map_err(|e| AppError::internal(format!("the bundled root: {e}")))?,
            None => Vec::new(),
        };
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let pinned = read("anchors.pem")
            .and_then(|p| Certificate::from_pem_chain(&p).ok())
            .unwrap_or_default();
        let crls = read("crls.pem").map(|p| crls_of(&p)).unwrap_or_default();
        let fetched_at = read("fetched-at").and_then(|t| t.trim().parse().ok());
        Ok(Trust {
            dir: dir.to_owned(),
            bundled,
            pinned,
            crls,
            fetched_at,
            changed: false,
        })
    }

    pub fn anchors(&self) -> Vec<Certificate> {
        self.bundled.iter().chain(&self.pinned).cloned().collect()
    }

    pub fn views(&self) -> Vec<AnchorView> {
        let view = |c: &Certificate, source| AnchorView {
            subject: c.subject(),
            fingerprint: fingerprint(c),
            not_after: c.not_after().0,
            source,
        };
        self.bundled
            .iter()
            .map(|c| view(c, AnchorSource::Bundled))
            .chain(self.pinned.iter().map(|c| view(c, AnchorSource::Pinned)))
            .collect()
    }

    pub fn fetched_at(&self) -> Option<i64> {
        self.fetched_at
    }

    /// The newest issue date among the cached revocation lists.
    pub fn revocation_date(&self) -> Option<i64> {
        self.crls.iter().map(|c| c.this_update().0).max()
    }

    pub fn validation(&self, now: UnixTime) -> ValidationConfig {
        ValidationConfig::new(self.anchors(), self.crls.clone(), now)
    }

    /// Takes what the server offers: its roots are pinned on first contact
    /// and must match afterwards (`trust_changed` otherwise, and nothing is
    /// changed); its CRLs replace the cached ones when the roots match.
    pub fn update(&mut self, offered: &coffre_api::TrustMaterial, now: UnixTime) -> AppResult<()> {
        let mut roots = Vec::new();
        for pem in &offered.anchors {
            roots.extend(
                Certificate::from_pem_chain(pem)
                    .map_err(|e| AppError::internal(format!("the server's root: {e}")))?,
            );
        }
        let ours = self.anchors();
        let known = |c: &Certificate| ours.iter().any(|o| o.der() == c.der());
        if ours.is_empty() {
            std::fs::create_dir_all(&self.dir).map_err(file_error)?;
            let pem: String = roots.iter().map(Certificate::to_pem).collect();
            std::fs::write(self.dir.join("anchors.pem"), pem).map_err(file_error)?;
            tracing::info!(
                roots = roots.len(),
                "pinned the server's root on first contact"
            );
            self.pinned = roots;
        } else if roots.is_empty() || !roots.iter().all(known) {
            self.changed = true;
            tracing::warn!("the server offers a root other than the one pinned: refused");
            return Err(AppError::new(
                code::TRUST_CHANGED,
                "the server offers a root other than the one this app trusts",
            ));
        }
        self.changed = false;
        let crls: Vec<Crl> = offered
            .crls
            .iter()
            .filter_map(|p| Crl::from_pem_or_der(p.as_bytes()).ok())
            .collect();
        std::fs::create_dir_all(&self.dir).map_err(file_error)?;
        let pem: String = crls.iter().map(Crl::to_pem).collect();
        std::fs::write(self.dir.join("crls.pem"), pem).map_err(file_error)?;
        std::fs::write(self.dir.join("fetched-at"), now.0.to_string()).map_err(file_error)?;
        self.crls = crls;
        self.fetched_at = Some(now.0);
        Ok(())
    }
}

fn crls_of(pem: &str) -> Vec<Crl> {
    pem.split_inclusive("-----END X509 CRL-----")
        .filter(|b| b.contains("-----BEGIN X509 CRL-----"))
        .filter_map(|b| Crl::from_pem_or_der(b.trim().as_bytes()).ok())
        .collect()
}

/// SHA-256 in groups of four hex digits, as a person compares them.
pub fn fingerprint(c: &Certificate) -> String {
    coffre_seal::hex(&c.sha256())
        .to_uppercase()
        .as_bytes()
        .chunks(4)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn file_error(e: std::io::Error) -> AppError {
    AppError::new(code::FILE, format!("keeping the trust material: {e}"))
}
