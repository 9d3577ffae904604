//! Offline validation: a report per signature with the ETSI EN 319 102-1
//! indication, never a network call.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::cms;
use crate::crypto::{key_kind, signature_digest, KeyKind};
use crate::crypto::{CertCache, Certificate, Crl, DigestAlg, ParseCache, UnixTime};
use crate::diff::{self, Modification};
use crate::path::{self, PathProblem, Purpose};
use crate::pdf::{
    decode_text, is_revision_end, Dict, Document, Entry, Lexer, ObjRef, Object, Repair,
};
use crate::policy::{Acceptance, AlgorithmPolicy};
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
    /// Which algorithms signatures may use, and until when.
    pub policy: AlgorithmPolicy,
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
            policy: AlgorithmPolicy::default(),
            verified: Arc::default(),
            certs: Arc::default(),
            crl_cache: Arc::default(),
        }
    }
}

/// Issuer signatures over certificates and CRLs already found good, keyed
/// by the SHA-256 of the signed object and of its issuer.
#[derive(Debug, Default)]
pub(crate) struct VerifiedSignatures(Mutex<HashSet<([u8; 32], [u8; 32])>>);

impl VerifiedSignatures {
    /// Most entries kept; past this the set starts over.
    const MAX: usize = 100_000;

    pub(crate) fn check(
        &self,
        signed: [u8; 32],
        issuer: [u8; 32],
        verify: impl FnOnce() -> bool,
    ) -> bool {
        let key = (signed, issuer);
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
    CryptoConstraintsFailureNoPoe,
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
            SubIndication::CryptoConstraintsFailureNoPoe => "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
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
    /// Set when the file was damaged and read anyway: how.
    pub repaired: Option<String>,
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
    /// The field's /Lock (FieldMDP) dictionary, if any.
    pub lock: Option<Dict>,
}

impl SigField {
    /// The /ByteRange, when it is four unsigned integers.
    fn byte_range(&self) -> Option<[usize; 4]> {
        let n: Vec<usize> = self
            .dict
            .get(b"ByteRange")?
            .as_array()?
            .iter()
            .map(|o| o.as_int().and_then(|i| usize::try_from(i).ok()))
            .collect::<Option<_>>()?;
        <[usize; 4]>::try_from(n).ok()
    }
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
                lock: d.get(b"Lock").and_then(|l| doc.dict(l, 0).ok().flatten()),
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
    let doc = Document::parse_repairing(pdf).map_err(Error::NotPdf)?;
    let dss = diff::dss_material(&doc, &cfg.crl_cache);
    let fields = signature_fields(&doc)?;
    // Newest first: a valid document time-stamp is proof of existence, at
    // its time, for every signature (and older document time-stamp) its
    // byte range covers whole.
    // (where the signature value starts, where the signed revision ends)
    let ranges: Vec<Option<(usize, usize)>> = fields
        .iter()
        .map(|f| match f.byte_range()? {
            [0, gap, after, len] => Some((gap, after.checked_add(len)?)),
            _ => None,
        })
        .collect();
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ranges[i].map_or(0, |(_, end)| end)));
    // (where a valid document time-stamp's first signed part ends, its time)
    let mut proofs: Vec<(usize, UnixTime)> = Vec::new();
    let mut reports: Vec<Option<SignatureReport>> = fields.iter().map(|_| None).collect();
    for i in order {
        let archive = ranges[i].and_then(|(_, end)| {
            proofs
                .iter()
                .filter(|(first_part_end, _)| end <= *first_part_end)
                .map(|(_, t)| *t)
                .min()
        });
        let r = validate_one(&doc, &fields[i], cfg, &dss, archive);
        if r.kind == SignatureKind::DocumentTimestamp && r.indication == Indication::TotalPassed {
            if let (Some((first_part_end, _)), Some(ts)) = (ranges[i], &r.timestamp) {
                proofs.push((first_part_end, ts.time));
            }
        }
        reports[i] = Some(r);
    }
    let mut signatures: Vec<SignatureReport> = reports.into_iter().flatten().collect();
    if let Some(cut) = cut_short_signature(pdf) {
        signatures.push(cut);
    }
    let repaired = doc.repair.as_ref().map(|r| match r {
        Repair::Located(why) | Repair::Rebuilt(why) => {
            format!("the file was damaged and repaired: {why}")
        }
    });
    Ok(Report {
        signatures,
        validation_time: cfg.time,
        repaired,
    })
}

/// A signature in bytes after the file's last `%%EOF`: an update that was
/// cut short while being written or sent. The file is damaged; it does
/// not carry "no signature".
fn cut_short_signature(buf: &[u8]) -> Option<SignatureReport> {
    let eof = crate::pdf::rfind(buf, b"%%EOF")? + b"%%EOF".len();
    let tail = &buf[eof..];
    crate::pdf::find(tail, b"/ByteRange").or_else(|| crate::pdf::find(tail, b"/Type/Sig"))?;
    let mut r = SignatureReport::blank(
        "(cut short)".into(),
        SignatureKind::Signature,
        String::new(),
        None,
    );
    fail(
        &mut r,
        Indication::TotalFailed,
        SubIndication::FormatFailure,
        "the file ends in the middle of a signature: its last update was cut short, so the file is damaged; get it again from where it came from",
    );
    Some(r)
}

impl SignatureReport {
    fn blank(
        field: String,
        kind: SignatureKind,
        sub_filter: String,
        certification: Option<i64>,
    ) -> SignatureReport {
        SignatureReport {
            field,
            kind,
            sub_filter,
            indication: Indication::TotalPassed,
            sub_indication: None,
            signer: None,
            chain: Vec::new(),
            claimed_signing_time: None,
            timestamp: None,
            certification,
            covers_whole_document: false,
            signed_length: 0,
            changes: Vec::new(),
            modified_after_sealing: false,
            revocation_checked: false,
            details: Vec::new(),
        }
    }
}

// Each signature goes through ETSI EN 319 102-1's building blocks, each a
// function with its own result: format checking (§5.2.2), identification
// of the signing certificate and cryptographic verification (§5.2.3,
// §5.2.7), our modification analysis, X.509 certificate validation with
// past signature validation from the signature time-stamp (§5.2.6,
// §5.6.2.4), and signature acceptance under the algorithm policy
// (§5.2.8). `validate_one` assembles the report from their results.

/// A verdict a building block reached, with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Finding {
    indication: Indication,
    sub: SubIndication,
    why: String,
}

impl Finding {
    fn new(indication: Indication, sub: SubIndication, why: impl Into<String>) -> Finding {
        Finding {
            indication,
            sub,
            why: why.into(),
        }
    }
}

/// What a signature dictionary's form allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// CAdES or PKCS#7 detached: the CMS signs the byte range.
    Detached,
    /// `adbe.pkcs7.sha1`: the CMS signs the SHA-1 of the byte range,
    /// which it encapsulates.
    Sha1Digest,
    /// `ETSI.RFC3161`: a time-stamp token over the byte range.
    DocumentTimestamp,
}

/// Format checking's result: the signed bytes and the signature value.
struct Signed<'a> {
    format: Format,
    /// The bytes before and after the signature value.
    parts: [&'a [u8]; 2],
    /// The end of the signed revision.
    end: usize,
    covers_whole_document: bool,
    contents: &'a [u8],
}

/// Format checking: a SubFilter this validator reads, a byte range that
/// is the whole signed revision but this signature's value.
fn format_checking<'a>(doc: &'a Document<'_>, f: &'a SigField) -> Result<Signed<'a>, Finding> {
    let sub_filter = f.dict.name(b"SubFilter").unwrap_or_default();
    let format = match sub_filter {
        b"ETSI.CAdES.detached" | b"adbe.pkcs7.detached" => Format::Detached,
        b"adbe.pkcs7.sha1" => Format::Sha1Digest,
        b"ETSI.RFC3161" => Format::DocumentTimestamp,
        other => {
            return Err(Finding::new(
                Indication::Indeterminate,
                SubIndication::FormatFailure,
                format!(
                    "this signature format ({}) cannot be checked here",
                    String::from_utf8_lossy(other)
                ),
            ))
        }
    };
    let format_failure =
        |why: &str| Finding::new(Indication::TotalFailed, SubIndication::FormatFailure, why);
    let buf = doc.buf;
    let Some(Object::Str(contents)) = f.dict.get(b"Contents") else {
        return Err(format_failure("signature without /Contents"));
    };
    let Some([a, b, c, d]) = f.byte_range() else {
        return Err(format_failure("signature without a valid /ByteRange"));
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
        return Err(format_failure(
            "the byte range does not exclude exactly this signature's value: the signed bytes are not the document",
        ));
    };
    let covers_whole_document = end == buf.len()
        || buf[end..]
            .iter()
            .all(|b| crate::pdf::find(b" \r\n\t\0", &[*b]).is_some());
    if !covers_whole_document && !is_revision_end(buf, end) {
        return Err(format_failure(
            "the signature does not end at the end of a revision",
        ));
    }
    Ok(Signed {
        format,
        parts: [&buf[..b], &buf[c..end]],
        end,
        covers_whole_document,
        contents,
    })
}

/// Identification of the signing certificate and cryptographic
/// verification: who signed, whether the signed bytes and the value hold,
/// and with which algorithms.
struct Crypto {
    signer: Option<Certificate>,
    /// Certificates the signature carries (for the path).
    carried: Vec<Certificate>,
    /// The digest and key the signature value uses, when known.
    algorithms: Option<(Option<DigestAlg>, KeyKind)>,
    claimed_time: Option<UnixTime>,
    /// The signature time-stamp tokens, unchecked, and the value they stamp.
    timestamp_tokens: Vec<Vec<u8>>,
    signature_value: Vec<u8>,
    /// A document time-stamp: its token's time and TSA.
    stamp: Option<Timestamp>,
    findings: Vec<Finding>,
    notes: Vec<String>,
}

fn cryptographic_verification(signed: &Signed<'_>, cfg: &ValidationConfig) -> Crypto {
    let mut out = Crypto {
        signer: None,
        carried: Vec::new(),
        algorithms: None,
        claimed_time: None,
        timestamp_tokens: Vec::new(),
        signature_value: Vec::new(),
        stamp: None,
        findings: Vec::new(),
        notes: Vec::new(),
    };
    let range_digest = |alg: DigestAlg| alg.digest(&signed.parts);
    if signed.format == Format::DocumentTimestamp {
        match tsa::check_token(signed.contents, &range_digest, &cfg.certs) {
            Err(why) => out.findings.push(Finding::new(
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                why,
            )),
            Ok(stamp) => {
                if !stamp.imprint_ok || !stamp.checked.digest_ok {
                    out.findings.push(Finding::new(
                        Indication::TotalFailed,
                        SubIndication::HashFailure,
                        "the document time-stamp does not match the document",
                    ));
                } else if let Some(what) = stamp.checked.unsupported {
                    out.findings.push(unsupported(what));
                } else if !stamp.checked.signature_ok {
                    out.findings.push(Finding::new(
                        Indication::TotalFailed,
                        SubIndication::SigCryptoFailure,
                        "the time-stamp signature does not verify",
                    ));
                }
                out.stamp = Some(Timestamp {
                    time: stamp.gen_time,
                    valid: false,
                    tsa: stamp.checked.signer.as_ref().map(Certificate::subject),
                });
                out.claimed_time = Some(stamp.gen_time);
                out.carried = stamp.certs;
                out.algorithms = stamp.checked.algorithms;
                out.signer = stamp.checked.signer;
                if out.signer.is_none() {
                    out.findings.push(Finding::new(
                        Indication::Indeterminate,
                        SubIndication::NoSigningCertificateFound,
                        "the time-stamp authority's certificate is not in the token",
                    ));
                }
            }
        }
        return out;
    }

    let parsed = match cms::parse(signed.contents, &cfg.certs) {
        Ok(p) => p,
        Err(why) => {
            out.findings.push(Finding::new(
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                why,
            ));
            return out;
        }
    };
    if parsed.ber {
        out.notes
            .push("the signature is BER-encoded; it was read as DER".into());
    }
    // What the CMS signs: the byte range itself, or (adbe.pkcs7.sha1) the
    // SHA-1 of it, carried inside.
    let sha1_of_range;
    let content: Vec<&[u8]> = match signed.format {
        Format::Sha1Digest => {
            sha1_of_range = DigestAlg::Sha1.digest(&signed.parts);
            match &parsed.econtent {
                Some(c) if *c == sha1_of_range => vec![&sha1_of_range[..]],
                Some(_) => {
                    out.findings.push(Finding::new(
                        Indication::TotalFailed,
                        SubIndication::HashFailure,
                        "the signed bytes were changed after signing",
                    ));
                    vec![&sha1_of_range[..]]
                }
                None => {
                    out.findings.push(Finding::new(
                        Indication::TotalFailed,
                        SubIndication::FormatFailure,
                        "an adbe.pkcs7.sha1 signature must carry the document's digest",
                    ));
                    return out;
                }
            }
        }
        _ => {
            if parsed.econtent.is_some() {
                out.findings.push(Finding::new(
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    "a detached signature must not carry content of its own",
                ));
            }
            signed.parts.to_vec()
        }
    };
    let checks = parsed.check(&content);
    if checks.len() > 1 {
        out.notes.push(format!(
            "the signature has {} signers; each was checked",
            checks.len()
        ));
    }
    for (i, checked) in checks.iter().enumerate() {
        if let Some(p) = checked.problem {
            out.findings.push(Finding::new(
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                p,
            ));
        }
        if checked.signer.is_none() {
            out.findings.push(Finding::new(
                Indication::Indeterminate,
                SubIndication::NoSigningCertificateFound,
                "the signer's certificate is not in the signature",
            ));
        } else if !checked.digest_ok {
            out.findings.push(Finding::new(
                Indication::TotalFailed,
                SubIndication::HashFailure,
                "the signed bytes were changed after sealing",
            ));
        } else if let Some(what) = checked.unsupported {
            out.findings.push(unsupported(what));
        } else if !checked.signature_ok {
            out.findings.push(Finding::new(
                Indication::TotalFailed,
                SubIndication::SigCryptoFailure,
                "the signature value does not verify with the signer's key",
            ));
        }
        if checked.ess_ok == Some(false) {
            out.findings.push(Finding::new(
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                "the signing-certificate attribute names another certificate",
            ));
        }
        if checked.resorted {
            out.notes.push(
                "the signed attributes verify in DER order, not in the order they were sent".into(),
            );
        }
        if i > 0 {
            continue;
        }
        if checked.without_attributes {
            out.notes.push(
                "the signature has no signed attributes: it signs the document's bytes directly"
                    .into(),
            );
        }
        out.claimed_time = checked.signing_time;
        out.timestamp_tokens = checked.timestamp_tokens.clone();
        out.signature_value = checked.signature_value.clone();
        out.signer = checked.signer.clone();
        // The weakest digest binding the document to the signature is the
        // one judged: the value's, the content's, or (for adbe.pkcs7.sha1)
        // the document's own SHA-1.
        out.algorithms = checked.algorithms.map(|(digest, key)| {
            if signed.format == Format::Sha1Digest {
                (Some(DigestAlg::Sha1), key)
            } else {
                (digest, key)
            }
        });
    }
    out.carried = parsed.certs;
    out
}

fn unsupported(what: &str) -> Finding {
    Finding::new(
        Indication::Indeterminate,
        SubIndication::CryptoConstraintsFailure,
        format!("the signature uses {what}, which this verifier cannot check"),
    )
}

/// The signature time-stamp, checked: a proof that the signature value
/// existed at its time when its token is intact and its TSA trusted.
fn signature_timestamp(
    crypto: &Crypto,
    dss: &diff::DssMaterial,
    cfg: &ValidationConfig,
    archive: Option<UnixTime>,
) -> (Option<Timestamp>, Vec<String>) {
    // Without a later proof, a token is judged as of now.
    let at = archive.map_or(cfg.time, |t| t.min(cfg.time));
    let mut best: Option<Timestamp> = None;
    let mut notes = Vec::new();
    for token in &crypto.timestamp_tokens {
        let value = &crypto.signature_value;
        match tsa::check_token(token, &|alg| alg.digest(&[value]), &cfg.certs) {
            Ok(stamp) => {
                let intact =
                    stamp.imprint_ok && stamp.checked.digest_ok && stamp.checked.signature_ok;
                // The TSA's issuers may travel in the token or beside the seal's.
                let carried: Vec<Certificate> = stamp
                    .certs
                    .iter()
                    .chain(crypto.carried.iter())
                    .cloned()
                    .collect();
                let path = stamp.checked.signer.as_ref().and_then(|tsa_cert| {
                    let at_time = |t| {
                        path::validate_path(tsa_cert, &carried, dss, cfg, t, Purpose::TimeStamping)
                    };
                    match at_time(cfg.time) {
                        // A later document time-stamp proves the token
                        // existed while its authority's certificate was valid.
                        Err(PathProblem::Expired | PathProblem::NotYetValid) if at < cfg.time => {
                            at_time(at).ok()
                        }
                        other => other.ok(),
                    }
                });
                let refused = path
                    .as_ref()
                    .and_then(|p| refused_at(&judged(stamp.checked.algorithms, &p.chain), at, cfg));
                // A revoked authority proves nothing, unless a later proof
                // shows the token existed before the revocation.
                let revoked = path
                    .as_ref()
                    .and_then(|p| p.revoked_at)
                    .is_some_and(|r| archive.is_none_or(|a| a >= r) || stamp.gen_time >= r);
                if !intact {
                    notes
                        .push("the signature time-stamp is broken or stamps something else".into());
                } else if path.is_none() {
                    notes.push("the signature time-stamp's authority is not trusted".into());
                } else if revoked {
                    notes.push(
                        "the signature time-stamp proves nothing: its authority's certificate is revoked"
                            .into(),
                    );
                } else if let Some(rule) = &refused {
                    notes.push(format!(
                        "the signature time-stamp proves nothing: algorithm policy — {rule}"
                    ));
                }
                let found = Timestamp {
                    time: stamp.gen_time,
                    valid: intact && path.is_some() && !revoked && refused.is_none(),
                    tsa: stamp.checked.signer.as_ref().map(Certificate::subject),
                };
                // The earliest valid proof wins; an invalid one is shown
                // only when there is nothing better.
                let better = match &best {
                    None => true,
                    Some(b) => {
                        (found.valid && !b.valid) || (found.valid == b.valid && found.time < b.time)
                    }
                };
                if better {
                    best = Some(found);
                }
            }
            Err(why) => notes.push(format!("the signature time-stamp is unreadable: {why}")),
        }
    }
    (best, notes)
}

/// Our modification analysis: what changed after the signed revision.
fn modification_analysis(
    doc: &Document<'_>,
    end: usize,
    certification: Option<i64>,
    locked: &diff::Locked,
) -> (Vec<Modification>, Option<Finding>) {
    let changes = match diff::analyse(doc, end, certification, locked) {
        Ok(changes) => changes,
        Err(why) => vec![Modification {
            allowed: false,
            what: why,
        }],
    };
    let refused: Vec<&str> = changes
        .iter()
        .filter(|m| !m.allowed)
        .map(|m| m.what.as_str())
        .collect();
    let finding = (!refused.is_empty()).then(|| {
        Finding::new(
            Indication::TotalFailed,
            SubIndication::HashFailure,
            format!(
                "the document was changed after sealing: {}",
                refused.join("; ")
            ),
        )
    });
    (changes, finding)
}

/// X.509 certificate validation, at the validation time and, when a
/// time-stamp proves the signature existed earlier, at that time.
struct CertificateValidation {
    /// Leaf first, trust anchor last; empty when no path was found.
    path: Vec<Certificate>,
    revocation_checked: bool,
    findings: Vec<Finding>,
    notes: Vec<String>,
}

fn certificate_validation(
    cert: &Certificate,
    carried: &[Certificate],
    purpose: Purpose,
    poe: Option<UnixTime>,
    dss: &diff::DssMaterial,
    cfg: &ValidationConfig,
) -> CertificateValidation {
    let mut out = CertificateValidation {
        path: Vec::new(),
        revocation_checked: false,
        findings: Vec::new(),
        notes: Vec::new(),
    };
    let outcome = match path::validate_path(cert, carried, dss, cfg, cfg.time, purpose) {
        // Past signature validation: the time-stamp proves the seal
        // existed while every certificate was valid.
        Err(PathProblem::Expired | PathProblem::NotYetValid) if poe.is_some() => {
            let t = poe.unwrap_or(cfg.time);
            let again = path::validate_path(cert, carried, dss, cfg, t, purpose);
            if again.is_ok() {
                out.notes.push("a certificate has expired since, but the time-stamp proves the seal was made while it was valid".into());
            }
            again
        }
        other => other,
    };
    let indeterminate = |sub, why: &str| Finding::new(Indication::Indeterminate, sub, why);
    match outcome {
        Ok(ok) => {
            out.revocation_checked = ok.revocation_checked;
            out.path = ok.chain;
            if !ok.revocation_checked {
                out.notes.push("no revocation list was available for every certificate: revocation not checked".into());
            }
            if let Some(revoked_at) = ok.revoked_at {
                match poe {
                    Some(t) if t < revoked_at => out.notes.push(
                        "a certificate was revoked after the time-stamp proved the seal existed".into(),
                    ),
                    Some(_) => out.findings.push(Finding::new(Indication::TotalFailed, SubIndication::Revoked, "the seal certificate was revoked before the seal was made")),
                    None => out.findings.push(indeterminate(SubIndication::RevokedNoPoe, "the seal certificate is revoked and nothing proves the seal was made before")),
                }
            }
        }
        Err(PathProblem::NoChain) => out.findings.push(indeterminate(
            SubIndication::NoCertificateChainFound,
            "the certificate does not lead to a trusted root",
        )),
        Err(PathProblem::Expired) => out.findings.push(indeterminate(
            SubIndication::OutOfBoundsNoPoe,
            "a certificate has expired and no time-stamp proves the seal was made before",
        )),
        Err(PathProblem::NotYetValid) => out.findings.push(indeterminate(
            SubIndication::NotYetValid,
            "a certificate is not yet valid",
        )),
        Err(PathProblem::Constraints(why)) => out
            .findings
            .push(indeterminate(SubIndication::ChainConstraintsFailure, why)),
    }
    out
}

/// What the algorithm policy judges of one signature: its own algorithms
/// (who, when it is a certificate; digest; key), then each certificate
/// signature of its path below the trust anchor.
type Judged = (Option<String>, (Option<DigestAlg>, KeyKind));

fn judged(signature: Option<(Option<DigestAlg>, KeyKind)>, path: &[Certificate]) -> Vec<Judged> {
    let mut out: Vec<Judged> = signature.map(|a| (None, a)).into_iter().collect();
    for pair in path.windows(2) {
        let (cert, issuer) = (&pair[0], &pair[1]);
        let digest = signature_digest(&cert.x509().signature_algorithm, None);
        out.push((
            Some(format!("the certificate of {}", cert.name())),
            (digest, key_kind(issuer.spki())),
        ));
    }
    out
}

/// The weakest of `items` under the policy, with whose it is: the first
/// never accepted, else the earliest sunset; `None` when all are accepted
/// without one.
fn weakest(items: &[Judged], cfg: &ValidationConfig) -> Option<(Option<String>, Acceptance)> {
    let mut out: Option<(Option<String>, Acceptance)> = None;
    for (whose, (digest, key)) in items {
        match cfg.policy.judge(*digest, *key) {
            Acceptance::Accepted => {}
            refused @ Acceptance::Refused(_) => return Some((whose.clone(), refused)),
            Acceptance::Until(sunset) => {
                let earlier = match &out {
                    Some((_, Acceptance::Until(s))) => sunset.until < s.until,
                    _ => true,
                };
                if earlier {
                    out = Some((whose.clone(), Acceptance::Until(sunset)));
                }
            }
        }
    }
    out
}

/// ", in the certificate of X" when a certificate's signature is meant.
fn of(whose: &Option<String>) -> String {
    whose
        .as_ref()
        .map(|w| format!(", in {w}"))
        .unwrap_or_default()
}

/// The rule a time-stamp breaks when its algorithms are no longer
/// accepted at `at`: now, or when a later proof says it existed.
fn refused_at(items: &[Judged], at: UnixTime, cfg: &ValidationConfig) -> Option<String> {
    match weakest(items, cfg)? {
        (whose, Acceptance::Refused(what)) => Some(format!("{what}{}", of(&whose))),
        (whose, Acceptance::Until(s)) if s.until < at => Some(format!(
            "{}{}, not accepted after {}",
            s.what,
            of(&whose),
            &s.until.to_rfc3339()[..10]
        )),
        _ => None,
    }
}

/// Signature acceptance: the algorithm policy over the signature and its
/// certificate path, at the time the signature is proven to have existed
/// (its time-stamp) or else now.
fn signature_acceptance(
    items: &[Judged],
    poe: Option<UnixTime>,
    cfg: &ValidationConfig,
) -> Result<Option<String>, Finding> {
    match weakest(items, cfg) {
        None | Some((_, Acceptance::Accepted)) => Ok(None),
        Some((whose, Acceptance::Refused(what))) => Err(Finding::new(
            Indication::Indeterminate,
            SubIndication::CryptoConstraintsFailure,
            format!("algorithm policy — {what}{}: never accepted", of(&whose)),
        )),
        Some((whose, Acceptance::Until(sunset))) => {
            let date = &sunset.until.to_rfc3339()[..10];
            let what = format!("{}{}", sunset.what, of(&whose));
            match poe {
                Some(t) if t <= sunset.until => Ok(Some(format!(
                    "algorithm policy — {what}: accepted for signatures made until {date}; the time-stamp proves this one was made on {}",
                    &t.to_rfc3339()[..10]
                ))),
                _ if cfg.time <= sunset.until => Ok(Some(format!(
                    "algorithm policy — {what}: accepted for signatures made until {date}"
                ))),
                _ => Err(Finding::new(
                    Indication::Indeterminate,
                    SubIndication::CryptoConstraintsFailureNoPoe,
                    format!(
                        "algorithm policy — {what}: not accepted after {date}, and no time-stamp proves the signature was made before"
                    ),
                )),
            }
        }
    }
}

/// One signature's validation; `archive` is the time a later document
/// time-stamp proves it existed at, if one does.
fn validate_one(
    doc: &Document<'_>,
    f: &SigField,
    cfg: &ValidationConfig,
    dss: &diff::DssMaterial,
    archive: Option<UnixTime>,
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
    let mut r =
        SignatureReport::blank(f.name.clone(), kind, sub_filter, docmdp_level(doc, &f.dict));
    r.claimed_signing_time = f.dict.get(b"M").and_then(|m| match m {
        Object::Str(s) => UnixTime::from_pdf_date(s),
        _ => None,
    });

    let signed = match format_checking(doc, f) {
        Ok(s) => s,
        Err(finding) => {
            record(&mut r, finding);
            return r;
        }
    };
    r.signed_length = signed.end;
    r.covers_whole_document = signed.covers_whole_document;

    let crypto = cryptographic_verification(&signed, cfg);
    let cms_unreadable = crypto.signer.is_none()
        && crypto
            .findings
            .iter()
            .any(|f| f.sub == SubIndication::FormatFailure);
    r.details.extend(crypto.notes.iter().cloned());
    for finding in crypto.findings.iter().cloned() {
        record(&mut r, finding);
    }
    if r.claimed_signing_time.is_none() {
        r.claimed_signing_time = crypto.claimed_time;
    }
    if let Some(cert) = &crypto.signer {
        r.signer = Some(Signer::of(cert));
    }
    if cms_unreadable && r.indication == Indication::TotalFailed && crypto.stamp.is_none() {
        return r;
    }
    let (stamp, notes) = signature_timestamp(&crypto, dss, cfg, archive);
    r.details.extend(notes);
    let stamped = stamp.as_ref().filter(|t| t.valid).map(|t| t.time);
    let poe = stamped.into_iter().chain(archive).min();
    if let Some(t) = archive.filter(|t| poe == Some(*t)) {
        r.details.push(format!(
            "a later document time-stamp proves this signature existed on {}",
            &t.to_rfc3339()[..10]
        ));
    }
    r.timestamp = stamp.or_else(|| crypto.stamp.clone());

    let (changes, refused) = match &doc.repair {
        // Scanning lost the revisions: what came after the signature is
        // unknown, unless nothing did.
        Some(Repair::Rebuilt(_)) if !signed.covers_whole_document => (
            Vec::new(),
            Some(Finding::new(
                Indication::Indeterminate,
                SubIndication::FormatFailure,
                "the file was damaged and repaired, so what changed after the signature cannot be told",
            )),
        ),
        Some(Repair::Rebuilt(_)) => (Vec::new(), None),
        _ => modification_analysis(doc, signed.end, r.certification, &diff::locked_fields(doc, f)),
    };
    r.changes = changes;
    r.modified_after_sealing = refused
        .as_ref()
        .is_some_and(|f| f.indication == Indication::TotalFailed);
    if let Some(finding) = refused {
        record(&mut r, finding);
    }
    if r.indication == Indication::TotalFailed {
        return r;
    }

    let Some(cert) = &crypto.signer else {
        return r;
    };
    let purpose = if kind == SignatureKind::DocumentTimestamp {
        Purpose::TimeStamping
    } else {
        Purpose::Signing
    };
    let certs = certificate_validation(cert, &crypto.carried, purpose, poe, dss, cfg);
    r.chain = certs.path.iter().map(Certificate::name).collect();
    r.revocation_checked = certs.revocation_checked;
    r.details.extend(certs.notes);
    for finding in certs.findings {
        record(&mut r, finding);
    }

    match signature_acceptance(&judged(crypto.algorithms, &certs.path), poe, cfg) {
        Ok(Some(rule)) => r.details.push(rule),
        Ok(None) => {}
        Err(finding) => record(&mut r, finding),
    }
    if kind == SignatureKind::DocumentTimestamp {
        if let Some(ts) = &mut r.timestamp {
            ts.valid = r.indication == Indication::TotalPassed;
        }
    }
    r
}

fn record(r: &mut SignatureReport, f: Finding) {
    fail(r, f.indication, f.sub, &f.why);
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
