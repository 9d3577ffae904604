//! Offline validation: a report per signature with the ETSI EN 319 102-1
//! indication, never a network call.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::cms;
use crate::crypto::{CertCache, Certificate, Crl, DigestAlg, ParseCache, UnixTime};
use crate::diff::{self, Modification};
use crate::path::{self, PathProblem, Purpose};
use crate::pdf::{decode_text, is_revision_end, Dict, Document, Entry, Lexer, ObjRef, Object};
use crate::seal::docmdp_level;
use crate::tsa;
use crate::Error;

/// What validation may rely on: trust anchors, CRLs held locally, and the
/// time of validation.
///
/// One config validates any number of files; it remembers which
/// certificate and CRL signatures it has already verified, so a batch from
/// one issuer verifies each issuer signature once.
#[derive(Clone, Debug)]
pub struct ValidationConfig {
    pub anchors: Vec<Certificate>,
    pub crls: Vec<Crl>,
    pub time: UnixTime,
    pub(crate) verified: Arc<VerifiedSignatures>,
    pub(crate) certs: Arc<CertCache>,
    pub(crate) crl_cache: Arc<ParseCache<Crl>>,
}

impl ValidationConfig {
    pub fn new(anchors: Vec<Certificate>, crls: Vec<Crl>, time: UnixTime) -> Self {
        ValidationConfig {
            anchors,
            crls,
            time,
            verified: Arc::default(),
            certs: Arc::default(),
            crl_cache: Arc::default(),
        }
    }
}

/// Issuer signatures over certificates and CRLs already found good, keyed
/// by the SHA-256 of the signed object and of its issuer.
#[derive(Debug, Default)]
pub(crate) struct VerifiedSignatures(Mutex<HashSet<[u8; 32]>>);

impl VerifiedSignatures {
    /// Most entries kept; past this the set starts over.
    const MAX: usize = 100_000;

    pub(crate) fn check(
        &self,
        signed: &[u8],
        issuer: &[u8],
        verify: impl FnOnce() -> bool,
    ) -> bool {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&(signed.len() as u64).to_be_bytes());
        ctx.update(signed);
        ctx.update(issuer);
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        // A poisoned lock only means another thread panicked mid-insert;
        // the set is still a valid set.
        if self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key)
        {
            return true;
        }
        let ok = verify();
        if ok {
            let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if set.len() >= Self::MAX {
                set.clear();
            }
            set.insert(key);
        }
        ok
    }
}

/// ETSI EN 319 102-1 main indication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Indication {
    TotalPassed,
    Indeterminate,
    TotalFailed,
}

impl Indication {
    pub fn as_str(self) -> &'static str {
        match self {
            Indication::TotalPassed => "TOTAL_PASSED",
            Indication::Indeterminate => "INDETERMINATE",
            Indication::TotalFailed => "TOTAL_FAILED",
        }
    }
}

/// ETSI EN 319 102-1 sub-indications this validator gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubIndication {
    FormatFailure,
    HashFailure,
    SigCryptoFailure,
    Revoked,
    NoCertificateChainFound,
    NoSigningCertificateFound,
    ChainConstraintsFailure,
    OutOfBoundsNoPoe,
    RevokedNoPoe,
    NotYetValid,
    CryptoConstraintsFailure,
}

impl SubIndication {
    pub fn as_str(self) -> &'static str {
        match self {
            SubIndication::FormatFailure => "FORMAT_FAILURE",
            SubIndication::HashFailure => "HASH_FAILURE",
            SubIndication::SigCryptoFailure => "SIG_CRYPTO_FAILURE",
            SubIndication::Revoked => "REVOKED",
            SubIndication::NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
            SubIndication::NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
            SubIndication::ChainConstraintsFailure => "CHAIN_CONSTRAINTS_FAILURE",
            SubIndication::OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
            SubIndication::RevokedNoPoe => "REVOKED_NO_POE",
            SubIndication::NotYetValid => "NOT_YET_VALID",
            SubIndication::CryptoConstraintsFailure => "CRYPTO_CONSTRAINTS_FAILURE",
        }
    }
}

/// The verdict on a whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    TotalPassed,
    Indeterminate,
    TotalFailed,
    NoSignature,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::TotalPassed => "TOTAL_PASSED",
            Status::Indeterminate => "INDETERMINATE",
            Status::TotalFailed => "TOTAL_FAILED",
            Status::NoSignature => "NO_SIGNATURE",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureKind {
    /// An approval or certification signature (a seal).
    Signature,
    /// A document time-stamp (`ETSI.RFC3161`).
    DocumentTimestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    pub common_name: Option<String>,
    pub organization: Option<String>,
    pub subject: String,
    pub serial: String,
    pub not_before: UnixTime,
    pub not_after: UnixTime,
}

impl Signer {
    fn of(c: &Certificate) -> Signer {
        Signer {
            common_name: c.common_name(),
            organization: c.organization(),
            subject: c.subject(),
            serial: c.serial_hex(),
            not_before: c.not_before(),
            not_after: c.not_after(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub time: UnixTime,
    /// Token intact, stamps this signature, and its TSA chains to an anchor.
    pub valid: bool,
    pub tsa: Option<String>,
}

/// One signature's validation.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignatureReport {
    pub field: String,
    pub kind: SignatureKind,
    pub sub_filter: String,
    pub indication: Indication,
    pub sub_indication: Option<SubIndication>,
    pub signer: Option<Signer>,
    /// Subjects from the signer to the trust anchor, when a path was found.
    pub chain: Vec<String>,
    /// `/M` in the signature dictionary (or the CMS signing-time).
    pub claimed_signing_time: Option<UnixTime>,
    pub timestamp: Option<Timestamp>,
    /// DocMDP permission level when this is a certification signature.
    pub certification: Option<i64>,
    /// The signature covers every byte of the file.
    pub covers_whole_document: bool,
    /// Bytes of the file the signature covers (its revision).
    pub signed_length: usize,
    /// Every change after this signature, allowed or not.
    pub changes: Vec<Modification>,
    /// A change after sealing that alters what the document shows.
    pub modified_after_sealing: bool,
    pub revocation_checked: bool,
    /// Why, in plain English (the CLI translates the indications).
    pub details: Vec<String>,
}

/// The report on a file.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Report {
    pub signatures: Vec<SignatureReport>,
    pub validation_time: UnixTime,
}

impl Report {
    /// The worst indication of any signature.
    pub fn status(&self) -> Status {
        match self.signatures.iter().map(|s| s.indication).max() {
            None => Status::NoSignature,
            Some(Indication::TotalPassed) => Status::TotalPassed,
            Some(Indication::Indeterminate) => Status::Indeterminate,
            Some(Indication::TotalFailed) => Status::TotalFailed,
        }
    }
}

/// A signature field with its value.
#[derive(Debug)]
pub(crate) struct SigField {
    pub name: String,
    pub value: ObjRef,
    pub dict: Dict,
}

/// Every signed signature field of the newest revision.
pub(crate) fn signature_fields(doc: &Document<'_>) -> Result<Vec<SigField>, Error> {
    let root = doc.trailer().get(b"Root").cloned().unwrap_or(Object::Null);
    let catalog = doc
        .dict(&root, 0)
        .map_err(Error::NotPdf)?
        .unwrap_or_default();
    let Some(form) = catalog
        .get(b"AcroForm")
        .and_then(|f| doc.dict(f, 0).ok().flatten())
    else {
        return Ok(Vec::new());
    };
    let fields = form
        .get(b"Fields")
        .and_then(|f| doc.resolve(f, 0).ok().flatten())
        .and_then(|f| f.as_array().map(<[Object]>::to_vec))
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(Object, String, Option<Vec<u8>>)> = fields
        .into_iter()
        .rev()
        .map(|f| (f, String::new(), None))
        .collect();
    while let Some((f, prefix, inherited_ft)) = stack.pop() {
        if seen.len() > 10_000 {
            break;
        }
        if let Object::Ref(r) = &f {
            if !seen.insert(*r) {
                continue;
            }
        }
        let Ok(Some(d)) = doc.dict(&f, 0) else {
            continue;
        };
        let partial = d.get(b"T").and_then(|t| match t {
            Object::Str(s) => Some(decode_text(s)),
            _ => None,
        });
        let name = match (prefix.is_empty(), partial) {
            (true, Some(p)) => p,
            (false, Some(p)) => format!("{prefix}.{p}"),
            (_, None) => prefix.clone(),
        };
        let ft = d.name(b"FT").map(<[u8]>::to_vec).or(inherited_ft);
        if let Some(kids) = d
            .get(b"Kids")
            .and_then(|k| doc.resolve(k, 0).ok().flatten())
        {
            if let Some(kids) = kids.as_array() {
                for k in kids.iter().rev() {
                    stack.push((k.clone(), name.clone(), ft.clone()));
                }
            }
        }
        if ft.as_deref() != Some(b"Sig") {
            continue;
        }
        let Some(Object::Ref(v)) = d.get(b"V") else {
            continue;
        };
        if let Ok(Some(Object::Dict(sd))) = doc.object_at(*v, 0) {
            out.push(SigField {
                name,
                value: *v,
                dict: sd,
            });
        }
    }
    Ok(out)
}

/// A signing certificate that chains to an anchor of `cfg` at `at`.
#[derive(Clone, Debug)]
pub struct CertificateCheck {
    /// Leaf first, trust anchor last.
    pub chain: Vec<Certificate>,
    /// Every certificate below the anchor had a CRL from its issuer.
    pub revocation_checked: bool,
    /// When a certificate of the chain was revoked, if one was.
    pub revoked_at: Option<UnixTime>,
}

/// Checks a signing certificate on its own (for signatures that are not
/// PDF seals, such as a copy's attestation): a path to one of `cfg`'s
/// anchors through `carried`, each certificate valid at `at`, CA
/// constraints and key usage, and revocation from `cfg`'s CRLs. The error
/// says why in plain English.
pub fn check_certificate(
    leaf: &Certificate,
    carried: &[Certificate],
    cfg: &ValidationConfig,
    at: UnixTime,
) -> Result<CertificateCheck, &'static str> {
    let ok = path::validate_path(
        leaf,
        carried,
        &diff::DssMaterial::default(),
        cfg,
        at,
        Purpose::Signing,
    )
    .map_err(|p| match p {
        PathProblem::NoChain => "the certificate does not chain to a trusted root",
        PathProblem::Expired => "a certificate of the chain had expired",
        PathProblem::NotYetValid => "a certificate of the chain was not yet valid",
        PathProblem::Constraints(why) => why,
    })?;
    Ok(CertificateCheck {
        chain: ok.chain,
        revocation_checked: ok.revocation_checked,
        revoked_at: ok.revoked_at,
    })
}

/// Validates every signature of `pdf`. `Err` only when the bytes are not a
/// PDF at all; anything wrong with a signature is in the report.
pub fn validate(pdf: &[u8], cfg: &ValidationConfig) -> Result<Report, Error> {
    let doc = Document::parse(pdf).map_err(Error::NotPdf)?;
    let dss = diff::dss_material(&doc, &cfg.crl_cache);
    let fields = signature_fields(&doc)?;
    let signatures = fields
        .iter()
        .map(|f| validate_one(&doc, f, cfg, &dss))
        .collect();
    Ok(Report {
        signatures,
        validation_time: cfg.time,
    })
}

fn validate_one(
    doc: &Document<'_>,
    f: &SigField,
    cfg: &ValidationConfig,
    dss: &diff::DssMaterial,
) -> SignatureReport {
    let sub_filter = f
        .dict
        .name(b"SubFilter")
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_default();
    let kind = if sub_filter == "ETSI.RFC3161" {
        SignatureKind::DocumentTimestamp
    } else {
        SignatureKind::Signature
    };
    let mut r = SignatureReport {
        field: f.name.clone(),
        kind,
        sub_filter: sub_filter.clone(),
        indication: Indication::TotalPassed,
        sub_indication: None,
        signer: None,
        chain: Vec::new(),
        claimed_signing_time: f.dict.get(b"M").and_then(|m| match m {
            Object::Str(s) => UnixTime::from_pdf_date(s),
            _ => None,
        }),
        timestamp: None,
        certification: docmdp_level(doc, &f.dict),
        covers_whole_document: false,
        signed_length: 0,
        changes: Vec::new(),
        modified_after_sealing: false,
        revocation_checked: false,
        details: Vec::new(),
    };
    if !matches!(
        sub_filter.as_str(),
        "ETSI.CAdES.detached" | "adbe.pkcs7.detached" | "ETSI.RFC3161"
    ) {
        fail(
            &mut r,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "unsupported signature format (SubFilter)",
        );
        return r;
    }

    // The byte range must be the whole signed revision but the /Contents.
    let buf = doc.buf;
    let Some(Object::Str(contents)) = f.dict.get(b"Contents") else {
        fail(
            &mut r,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "signature without /Contents",
        );
        return r;
    };
    let range: Option<Vec<usize>> = f
        .dict
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .and_then(|a| {
            a.iter()
                .map(|o| o.as_int().and_then(|i| usize::try_from(i).ok()))
                .collect()
        });
    let Some([a, b, c, d]) = range
        .as_deref()
        .map(<[usize]>::to_vec)
        .and_then(|v| <[usize; 4]>::try_from(v).ok())
    else {
        fail(
            &mut r,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "signature without a valid /ByteRange",
        );
        return r;
    };
    let end = c.checked_add(d);
    let value_offset = match doc.entry(f.value.num, 0) {
        Some(Entry::InUse { offset, .. }) => Some(offset),
        _ => None,
    };
    let gap_ok = a == 0
        && b < c
        && end.is_some_and(|e| e <= buf.len())
        && buf.get(b) == Some(&b'<')
        && buf.get(c - 1) == Some(&b'>')
        && value_offset.is_some_and(|o| o < b)
        && value_offset.is_some_and(|o| contents_at(buf, o, b, c));
    let Some(end) = end.filter(|_| gap_ok) else {
        fail(
            &mut r,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "the byte range does not exclude exactly this signature's value: the signed bytes are not the document",
        );
        return r;
    };
    r.signed_length = end;
    r.covers_whole_document = end == buf.len()
        || buf[end..]
            .iter()
            .all(|b| crate::pdf::find(b" \r\n\t\0", &[*b]).is_some());
    if !r.covers_whole_document && !is_revision_end(buf, end) {
        fail(
            &mut r,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "the signature does not end at the end of a revision",
        );
        return r;
    }

    let range_digest = |alg: DigestAlg| alg.digest(&[&buf[..b], &buf[c..end]]);

    // The cryptographic part.
    let anchors_needed_certs;
    let signer_cert;
    let mut best_time = None;
    if kind == SignatureKind::DocumentTimestamp {
        match tsa::check_token(contents, &range_digest, &cfg.certs) {
            Err(why) => {
                fail(
                    &mut r,
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    why,
                );
                return r;
            }
            Ok(stamp) => {
                if !stamp.imprint_ok || !stamp.checked.digest_ok {
                    fail(
                        &mut r,
                        Indication::TotalFailed,
                        SubIndication::HashFailure,
                        "the document time-stamp does not match the document",
                    );
                } else if !stamp.checked.signature_ok {
                    fail(
                        &mut r,
                        Indication::TotalFailed,
                        SubIndication::SigCryptoFailure,
                        "the time-stamp signature does not verify",
                    );
                }
                r.timestamp = Some(Timestamp {
                    time: stamp.gen_time,
                    valid: false,
                    tsa: stamp.checked.signer.as_ref().map(Certificate::subject),
                });
                r.claimed_signing_time.get_or_insert(stamp.gen_time);
                anchors_needed_certs = stamp.certs;
                signer_cert = stamp.checked.signer;
                if signer_cert.is_none() {
                    fail(
                        &mut r,
                        Indication::Indeterminate,
                        SubIndication::NoSigningCertificateFound,
                        "the time-stamp authority's certificate is not in the token",
                    );
                }
            }
        }
    } else {
        let parsed = match cms::parse(contents, &cfg.certs) {
            Ok(p) => p,
            Err(why) => {
                fail(
                    &mut r,
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    why,
                );
                return r;
            }
        };
        let checked = parsed.check(&range_digest);
        if let Some(p) = checked.problem {
            fail(
                &mut r,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                p,
            );
        }
        if checked.signer.is_none() {
            fail(
                &mut r,
                Indication::Indeterminate,
                SubIndication::NoSigningCertificateFound,
                "the signer's certificate is not in the signature",
            );
        } else if !checked.digest_ok {
            fail(
                &mut r,
                Indication::TotalFailed,
                SubIndication::HashFailure,
                "the signed bytes were changed after sealing",
            );
        } else if !checked.signature_ok {
            fail(
                &mut r,
                Indication::TotalFailed,
                SubIndication::SigCryptoFailure,
                "the signature value does not verify with the signer's key",
            );
        }
        if checked.ess_ok == Some(false) {
            fail(
                &mut r,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                "the signing-certificate attribute names another certificate",
            );
        }
        if r.claimed_signing_time.is_none() {
            r.claimed_signing_time = checked.signing_time;
        }
        if let Some(token) = &checked.timestamp_token {
            let sig_value = checked.signature_value.clone();
            match tsa::check_token(token, &|alg| alg.digest(&[&sig_value]), &cfg.certs) {
                Ok(stamp) => {
                    let intact =
                        stamp.imprint_ok && stamp.checked.digest_ok && stamp.checked.signature_ok;
                    // The TSA's issuers may travel in the token or beside the seal's.
                    let carried: Vec<Certificate> = stamp
                        .certs
                        .iter()
                        .chain(parsed.certs.iter())
                        .cloned()
                        .collect();
                    let chain_ok = stamp.checked.signer.as_ref().is_some_and(|tsa_cert| {
                        path::validate_path(
                            tsa_cert,
                            &carried,
                            dss,
                            cfg,
                            cfg.time,
                            Purpose::TimeStamping,
                        )
                        .is_ok()
                    });
                    if !intact {
                        r.details.push(
                            "the signature time-stamp is broken or stamps something else".into(),
                        );
                    } else if !chain_ok {
                        r.details
                            .push("the signature time-stamp's authority is not trusted".into());
                    }
                    let valid = intact && chain_ok;
                    if valid {
                        best_time = Some(stamp.gen_time);
                    }
                    r.timestamp = Some(Timestamp {
                        time: stamp.gen_time,
                        valid,
                        tsa: stamp.checked.signer.as_ref().map(Certificate::subject),
                    });
                }
                Err(why) => r
                    .details
                    .push(format!("the signature time-stamp is unreadable: {why}")),
            }
        }
        anchors_needed_certs = parsed.certs;
        signer_cert = checked.signer;
    }
    if let Some(cert) = &signer_cert {
        r.signer = Some(Signer::of(cert));
    }

    // What changed after this signature.
    match diff::analyse(doc, end, r.certification) {
        Ok(changes) => {
            r.modified_after_sealing = changes.iter().any(|m| !m.allowed);
            r.changes = changes;
        }
        Err(why) => {
            r.modified_after_sealing = true;
            r.changes = vec![Modification {
                allowed: false,
                what: why,
            }];
        }
    }
    if r.modified_after_sealing {
        let what: Vec<String> = r
            .changes
            .iter()
            .filter(|m| !m.allowed)
            .map(|m| m.what.clone())
            .collect();
        fail(
            &mut r,
            Indication::TotalFailed,
            SubIndication::HashFailure,
            &format!(
                "the document was changed after sealing: {}",
                what.join("; ")
            ),
        );
    }
    if r.indication == Indication::TotalFailed {
        return r;
    }

    // The certificate path.
    let Some(cert) = signer_cert else {
        return r;
    };
    let purpose = if kind == SignatureKind::DocumentTimestamp {
        Purpose::TimeStamping
    } else {
        Purpose::Signing
    };
    let outcome = path::validate_path(&cert, &anchors_needed_certs, dss, cfg, cfg.time, purpose);
    let outcome = match outcome {
        // Long-term: the time-stamp proves the seal existed while every
        // certificate was valid.
        Err(PathProblem::Expired | PathProblem::NotYetValid) if best_time.is_some() => {
            let t = best_time.unwrap_or(cfg.time);
            let again = path::validate_path(&cert, &anchors_needed_certs, dss, cfg, t, purpose);
            if again.is_ok() {
                r.details.push("a certificate has expired since, but the time-stamp proves the seal was made while it was valid".into());
            }
            again
        }
        other => other,
    };
    match outcome {
        Ok(ok) => {
            r.chain = ok
                .chain
                .iter()
                .map(|c| c.common_name().unwrap_or_else(|| c.subject()))
                .collect();
            r.revocation_checked = ok.revocation_checked;
            if !ok.revocation_checked {
                r.details.push("no revocation list was available for every certificate: revocation not checked".into());
            }
            if let Some(revoked_at) = ok.revoked_at {
                match best_time {
                    Some(t) if t < revoked_at => r.details.push(
                        "a certificate was revoked after the time-stamp proved the seal existed".into(),
                    ),
                    Some(_) => fail(&mut r, Indication::TotalFailed, SubIndication::Revoked, "the seal certificate was revoked before the seal was made"),
                    None => fail(&mut r, Indication::Indeterminate, SubIndication::RevokedNoPoe, "the seal certificate is revoked and nothing proves the seal was made before"),
                }
            }
        }
        Err(PathProblem::NoChain) => fail(
            &mut r,
            Indication::Indeterminate,
            SubIndication::NoCertificateChainFound,
            "the certificate does not lead to a trusted root",
        ),
        Err(PathProblem::Expired) => fail(
            &mut r,
            Indication::Indeterminate,
            SubIndication::OutOfBoundsNoPoe,
            "a certificate has expired and no time-stamp proves the seal was made before",
        ),
        Err(PathProblem::NotYetValid) => fail(
            &mut r,
            Indication::Indeterminate,
            SubIndication::NotYetValid,
            "a certificate is not yet valid",
        ),
        Err(PathProblem::Constraints(why)) => fail(
            &mut r,
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            why,
        ),
    }
    if kind == SignatureKind::DocumentTimestamp {
        if let Some(ts) = &mut r.timestamp {
            ts.valid = r.indication == Indication::TotalPassed;
        }
    }
    r
}

/// Records a failure; the most severe indication wins, the first of it
/// gives the sub-indication.
fn fail(r: &mut SignatureReport, i: Indication, s: SubIndication, why: &str) {
    if r.indication == Indication::TotalPassed || i > r.indication {
        r.indication = i;
        r.sub_indication = Some(s);
    }
    r.details.push(why.to_owned());
}

/// True when the signature dictionary at `offset` has its (first)
/// `/Contents` hex string exactly at `start..end`: the gap in the byte range
/// is this signature's value and nothing else.
fn contents_at(buf: &[u8], offset: usize, start: usize, end: usize) -> bool {
    let mut lx = Lexer::new(buf, offset);
    let header_ok =
        lx.unsigned().is_ok() && lx.unsigned().is_ok() && lx.expect_keyword(b"obj").is_ok();
    lx.skip_ws();
    if !header_ok || !buf[lx.pos..].starts_with(b"<<") {
        return false;
    }
    lx.pos += 2;
    for _ in 0..1000 {
        let Ok(Object::Name(key)) = lx.object() else {
            return false;
        };
        lx.skip_ws();
        if key == b"Contents" {
            return lx.pos == start
                && buf.get(start + 1) != Some(&b'<')
                && memchr::memchr(b'>', &buf[start..]) == Some(end - 1 - start);
        }
        if lx.object().is_err() {
            return false;
        }
    }
    false
}
