//! Printable copies for Coffre: the original's pages, each marked
//! "COPIE — COPY", then a certificate of originality with a QR code that
//! anyone can check offline (see [`attestation`]).
//!
//! Pure like coffre-seal: no network, no files, no clock. Bytes, a
//! validation report and times come in; the copy's bytes go out. A copy
//! carries no signature: it is never an original.
//!
//! Also the sample documents (transcripts, certificates of achievement)
//! that demos, tests and benchmarks deposit ([`sample`]).

#![forbid(unsafe_code)]

mod assemble;
pub mod attestation;
mod certificate;
mod fonts;
mod qr;
pub mod sample;
mod words;

use coffre_seal::{Report, UnixTime};

pub use words::Lang;

/// What the certificate page says of the document besides its seal. From
/// the attestation when there is one ([`DocumentFacts::from_statement`]),
/// else from the safe or the person printing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentFacts {
    pub title: Option<String>,
    /// `coffre_api::DocumentKind`'s wire name: `transcript`, …
    pub kind: Option<String>,
    pub year: Option<String>,
    pub student: Option<String>,
    /// The organisation that deposited it.
    pub issuer: Option<String>,
}

impl DocumentFacts {
    pub fn from_statement(s: &attestation::Statement) -> DocumentFacts {
        DocumentFacts {
            title: Some(s.title.clone()),
            kind: Some(s.kind.clone()),
            year: s.year.clone(),
            student: Some(s.student.clone()),
            issuer: Some(s.issuer.clone()),
        }
    }
}

/// What the QR code carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Qr {
    /// The operator's signed attestation: its text from
    /// [`attestation::sign`], a URL a phone opens.
    Attestation(String),
    /// No attestation (a personal upload, or none at hand): the code holds
    /// the original's SHA-256 only, and the page says "not certified".
    DigestOnly,
}

#[derive(Clone, Debug)]
pub struct CopyOptions {
    pub lang: Lang,
    /// The print date on the certificate page.
    pub printed_at: UnixTime,
    pub facts: DocumentFacts,
    pub qr: Qr,
    /// When the revocation data the report used was issued (the newest
    /// CRL's thisUpdate), if any was.
    pub revocation_date: Option<UnixTime>,
}

#[derive(Debug)]
pub enum Error {
    /// The original is not a PDF this crate can read.
    NotPdf(String),
    /// The original is encrypted: it cannot be copied.
    Encrypted,
    /// The QR text does not fit a QR code.
    QrTooLong,
    /// The attestation is not readable, or is about another document
    /// (another SHA-256).
    Attestation(String),
    Pdf(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotPdf(why) => write!(f, "the original is not a readable PDF: {why}"),
            Error::Encrypted => f.write_str("the original is encrypted and cannot be copied"),
            Error::QrTooLong => f.write_str("the attestation is too long for a QR code"),
            Error::Attestation(why) => write!(f, "the attestation does not fit this copy: {why}"),
            Error::Pdf(why) => write!(f, "the copy could not be written: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// The QR text of a copy without attestation: the original's digest.
pub fn digest_text(original: &[u8]) -> String {
    format!(
        "SHA256:{}",
        coffre_seal::hex(&coffre_seal::sha256(original))
    )
}

/// The printable copy of `original`: its pages, each marked "COPIE —
/// COPY", then the certificate of originality from `report` (the
/// original's validation at print time) and `options`.
///
/// A document that does not validate still prints; its certificate page
/// says so first.
pub fn copy(original: &[u8], report: &Report, options: &CopyOptions) -> Result<Vec<u8>, Error> {
    if let Qr::Attestation(text) = &options.qr {
        let (statement, _) =
            attestation::read(text).map_err(|e| Error::Attestation(e.to_string()))?;
        if statement.sha256 != coffre_seal::sha256(original) {
            return Err(Error::Attestation(
                "it is about another document (another SHA-256)".into(),
            ));
        }
    }
    let mut doc = assemble::Copy::open(original)?;
    let page = certificate::Page {
        original,
        report,
        options,
        pages: doc.page_count(),
    };
    let drawn = certificate::draw(&page)?;
    doc.append_certificate(&drawn, options.lang)?;
    doc.finish()
}

/// A document kind's words (`transcript` → "Relevé de notes").
pub fn kind_words(lang: Lang, wire: &str) -> String {
    words::kind(lang, wire)
}

/// A date and time as the copy prints it.
pub fn date_words(lang: Lang, t: UnixTime) -> String {
    words::date_time(lang, t)
}

/// A SHA-256 as the copy prints it: 16 groups of 4 hex digits.
pub fn grouped_digest(digest: &[u8; 32]) -> String {
    certificate::grouped(&coffre_seal::hex(digest)).replace('\n', " ")
}
