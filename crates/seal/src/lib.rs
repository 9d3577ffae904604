//! PAdES seals for Coffre: creation (B-B, B-T, B-LT) and offline validation.
//!
//! Pure: no network, no files, no clock. Every time is given by the caller
//! ([`UnixTime`]), every trust anchor and CRL too.
//!
//! Validation returns a [`Report`], never an error, for anything that is a
//! PDF: a tampered seal is an answer (`TOTAL_FAILED`), not a failure.

#![forbid(unsafe_code)]

mod ber;
mod cms;
mod crypto;
mod diff;
mod error;
mod oid;
mod path;
pub mod pdf;
pub mod pki;
mod policy;
mod seal;
mod tsa;
mod validate;

pub use crypto::{
    cut, hex, pem_blocks, pem_encode, sha256, Certificate, Crl, DigestAlg, SigningKey, UnixTime,
};
pub use diff::Modification;
pub use error::Error;
pub use policy::{AlgorithmPolicy, Applies, Rule};
pub use seal::{seal, Level, SealConfig};
pub use tsa::{request as timestamp_request, token_from_response, LocalTsa, TimeStamper};
pub use validate::{
    check_certificate, validate, CertificateCheck, Indication, Report, SignatureKind,
    SignatureReport, Signer, Status, SubIndication, Timestamp, ValidationConfig,
};
