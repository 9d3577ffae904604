//! Certificate path building and validation (RFC 5280 §6, the parts a
//! seal needs): signatures, validity, CA constraints, key usage, and
//! revocation from CRLs held or embedded.

use x509_cert::ext::pkix::KeyUsages;

use crate::crypto::{Certificate, UnixTime};
use crate::diff::DssMaterial;
use crate::oid;
use crate::validate::ValidationConfig;

const MAX_DEPTH: usize = 8;
/// Most issuer candidates tried while building one path.
const MAX_CANDIDATES: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Signing,
    TimeStamping,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathProblem {
    NoChain,
    Expired,
    NotYetValid,
    Constraints(&'static str),
}

#[derive(Debug)]
pub(crate) struct PathOk {
    /// Leaf first, trust anchor last.
    pub chain: Vec<Certificate>,
    /// Every certificate below the anchor had a CRL from its issuer.
    pub revocation_checked: bool,
    /// Earliest revocation of any certificate in the path.
    pub revoked_at: Option<UnixTime>,
}

pub(crate) fn validate_path(
    leaf: &Certificate,
    carried: &[Certificate],
    dss: &DssMaterial,
    cfg: &ValidationConfig,
    at: UnixTime,
    purpose: Purpose,
) -> Result<PathOk, PathProblem> {
    let pool: Vec<&Certificate> = cfg.anchors.iter().chain(carried.iter()).collect();
    let mut path = vec![leaf.clone()];
    let mut budget = MAX_CANDIDATES;
    if !build(&mut path, &pool, cfg, &mut budget) {
        // Then with the validation data the file embeds.
        let dss_certs = dss.certs();
        let pool: Vec<&Certificate> = pool.into_iter().chain(dss_certs.iter()).collect();
        path.truncate(1);
        let mut budget = MAX_CANDIDATES;
        if !build(&mut path, &pool, cfg, &mut budget) {
            return Err(PathProblem::NoChain);
        }
    }
    let anchor_at = path.len() - 1;

    for (i, cert) in path.iter().enumerate() {
        if i == anchor_at && i > 0 {
            break;
        }
        if cert.not_after() < at {
            return Err(PathProblem::Expired);
        }
        if cert.not_before() > at {
            return Err(PathProblem::NotYetValid);
        }
        if !cert.unknown_critical_extensions().is_empty() {
            return Err(PathProblem::Constraints(
                "a certificate has a critical extension this validator does not know",
            ));
        }
    }
    // Issuers must be CAs allowed to sign certificates, within path length.
    for (i, issuer) in path.iter().enumerate().skip(1) {
        let is_anchor = i == anchor_at;
        match issuer.basic_constraints() {
            Some(bc) if !bc.ca => {
                return Err(PathProblem::Constraints(
                    "an issuer is not a certificate authority",
                ))
            }
            Some(bc) => {
                let below = path[1..i].iter().filter(|c| !c.is_self_issued()).count();
                if bc
                    .path_len_constraint
                    .is_some_and(|max| below > usize::from(max))
                {
                    return Err(PathProblem::Constraints(
                        "the chain is longer than a CA allows",
                    ));
                }
            }
            None if !is_anchor => {
                return Err(PathProblem::Constraints(
                    "an issuer is not a certificate authority",
                ))
            }
            None => {}
        }
        if let Some(ku) = issuer.key_usage() {
            if !ku.0.contains(KeyUsages::KeyCertSign) {
                return Err(PathProblem::Constraints(
                    "an issuer may not sign certificates",
                ));
            }
        }
    }
    match purpose {
        Purpose::Signing => {
            if let Some(ku) = leaf.key_usage() {
                if !ku.0.contains(KeyUsages::DigitalSignature)
                    && !ku.0.contains(KeyUsages::NonRepudiation)
                {
                    return Err(PathProblem::Constraints(
                        "the seal certificate may not sign",
                    ));
                }
            }
        }
        Purpose::TimeStamping => {
            let eku = leaf.extended_key_usage().unwrap_or_default();
            if !eku.contains(&oid::KP_TIME_STAMPING) {
                return Err(PathProblem::Constraints(
                    "the time-stamping certificate lacks the timeStamping purpose",
                ));
            }
        }
    }

    // Revocation, from any CRL its issuer signed.
    let mut revocation_checked = true;
    let mut revoked_at: Option<UnixTime> = None;
    for i in 0..anchor_at {
        let (cert, issuer) = (&path[i], &path[i + 1]);
        let mut found = false;
        for crl in cfg.crls.iter().chain(dss.crls.iter()) {
            if !cfg
                .verified
                .check(crl.sha256, issuer.sha256(), || crl.signed_by(issuer))
            {
                continue;
            }
            found = true;
            if let Some(t) = crl.revocation_of(cert) {
                revoked_at = Some(revoked_at.map_or(t, |r| r.min(t)));
            }
        }
        revocation_checked &= found;
    }
    Ok(PathOk {
        chain: path,
        revocation_checked,
        revoked_at,
    })
}

/// Extends `path` (leaf only at first) up to a trust anchor, depth first.
fn build(
    path: &mut Vec<Certificate>,
    pool: &[&Certificate],
    cfg: &ValidationConfig,
    budget: &mut usize,
) -> bool {
    let Some(cur) = path.last().cloned() else {
        return false;
    };
    if cfg.anchors.iter().any(|a| a == &cur) {
        return true;
    }
    if path.len() > MAX_DEPTH {
        return false;
    }
    let issuer_name = &cur.x509().tbs_certificate.issuer;
    for cand in pool {
        if !cand.issued(issuer_name) || path.iter().any(|p| p == *cand) {
            continue;
        }
        // Many look-alike issuers must not make the search explode.
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        if !cfg
            .verified
            .check(cur.sha256(), cand.sha256(), || cur.signed_by(cand))
        {
            continue;
        }
        path.push((*cand).clone());
        if build(path, pool, cfg, budget) {
            return true;
        }
        path.pop();
    }
    false
}
