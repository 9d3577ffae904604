//! A document's seal checked here, offline (crates/seal with the trusted
//! roots and cached CRLs), turned into the certificate of originality the
//! window shows.

use coffre_seal::{Indication, SignatureKind, Status, UnixTime};

use crate::error::{code, AppError, AppResult};
use crate::trust::Trust;
use crate::view::{SealView, Verdict};

/// Validates `pdf` as of `now`. A personal file that is not a PDF (a scan)
/// has no seal; bytes that claim to be a PDF and are not are an error.
pub fn check(pdf: &[u8], trust: &Trust, now: UnixTime) -> AppResult<SealView> {
    let empty = |indication: &str| SealView {
        verdict: Verdict::NoSeal,
        indication: indication.to_owned(),
        reason: None,
        issuer: None,
        certificate: None,
        serial: None,
        sealed_at: None,
        timestamped: false,
        changed_after_sealing: false,
        covers_whole_document: false,
        chain: Vec::new(),
        revocation_date: trust.revocation_date(),
        revocation_checked: false,
        checked_at: now.0,
        details: Vec::new(),
    };
    if !pdf.starts_with(b"%PDF-") {
        return Ok(empty("NO_SIGNATURE"));
    }
    let report = coffre_seal::validate(pdf, &trust.validation(now))
        .map_err(|e| AppError::new(code::NOT_PDF, format!("not a readable PDF: {e}")))?;
    let status = report.status();
    // The signature that decides: the worst, the organisation's seal
    // before a later document time-stamp.
    let Some(sig) = report
        .signatures
        .iter()
        .max_by_key(|s| (s.indication, u8::from(s.kind == SignatureKind::Signature)))
    else {
        return Ok(empty(status.as_str()));
    };
    let verdict = match status {
        Status::TotalPassed => Verdict::Passed,
        Status::Indeterminate => Verdict::Indeterminate,
        Status::TotalFailed => Verdict::Failed,
        Status::NoSignature => Verdict::NoSeal,
    };
    let timestamp = sig.timestamp.as_ref().filter(|t| t.valid);
    Ok(SealView {
        verdict,
        indication: status.as_str().to_owned(),
        reason: sig.sub_indication.map(|s| s.as_str().to_owned()),
        issuer: sig
            .signer
            .as_ref()
            .and_then(|s| s.organization.clone().or_else(|| s.common_name.clone())),
        certificate: sig.signer.as_ref().and_then(|s| s.common_name.clone()),
        serial: sig.signer.as_ref().map(|s| s.serial.clone()),
        sealed_at: timestamp
            .map(|t| t.time.0)
            .or(sig.claimed_signing_time.map(|t| t.0)),
        timestamped: timestamp.is_some(),
        changed_after_sealing: sig.modified_after_sealing
            || (sig.indication == Indication::TotalFailed
                && sig.sub_indication == Some(coffre_seal::SubIndication::HashFailure)),
        covers_whole_document: sig.covers_whole_document,
        chain: sig.chain.clone(),
        revocation_date: trust.revocation_date(),
        revocation_checked: sig.revocation_checked,
        checked_at: now.0,
        // A damaged file read after repair says so first.
        details: report
            .repaired
            .iter()
            .chain(&sig.details)
            .cloned()
            .collect(),
    })
}
