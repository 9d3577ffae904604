//! The attestation a copy's QR code carries: a small statement about a
//! deposited original, signed by the operator's attestation key
//! (COSE_Sign1, RFC 9052, ES256), inside a URL on the operator's server.
//!
//! The QR holds the statement, its signature and the key's id, never the
//! certificate: the attestation certificate comes with the operator's trust
//! material (`/api/v1/trust`), so whoever cached it checks a copy offline.
//!
//! The text is `{server}/c/{BASE32}`: base32 (RFC 4648, no padding) is
//! upper-case letters and digits, which a QR code stores in its compact
//! alphanumeric mode. The very same text is what a phone opens and what
//! `coffre check-copy` checks.

use ciborium::Value;
use coffre_seal::{
    check_certificate, cut, sha256, Certificate, SigningKey, UnixTime, ValidationConfig,
};
use coset::{iana, CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder};

/// The path of a copy's check page on the operator's server.
pub const PATH: &str = "/c/";
/// Most bytes of each text field in a statement: keeps the QR small enough
/// to print at 3 cm. Longer names and titles are cut at a character.
pub const FIELD_MAX: usize = 96;
/// Most characters of a text this module will decode.
const TEXT_MAX: usize = 2048;

/// What the operator attests about a deposited original.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The organisation that deposited and sealed it.
    pub issuer: String,
    pub student: String,
    pub title: String,
    /// `coffre_api::DocumentKind`'s wire name (`transcript`, …).
    pub kind: String,
    /// Academic year, `2025-2026`.
    pub year: Option<String>,
    /// SHA-256 of the original's bytes.
    pub sha256: [u8; 32],
    pub deposited_at: UnixTime,
    /// The document's id in the safe (32 hex digits).
    pub document_id: String,
    /// When the operator signed this statement.
    pub issued_at: UnixTime,
}

/// Why a text is not a good attestation, for the person holding the paper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// Not a copy's QR text at all, or damaged.
    Malformed(&'static str),
    /// Signed by a key this trust material does not hold.
    UnknownKey,
    /// The key's certificate does not chain to a trusted root, or was
    /// revoked, or had expired.
    Untrusted(String),
    /// The signature does not match the statement: altered or forged.
    BadSignature,
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Malformed(why) => write!(f, "not a copy's attestation: {why}"),
            CheckError::UnknownKey => f.write_str(
                "signed by a key that is not among the operator's attestation certificates",
            ),
            CheckError::Untrusted(why) => write!(f, "the attestation key is not trusted: {why}"),
            CheckError::BadSignature => {
                f.write_str("the signature does not match: the attestation was altered or forged")
            }
        }
    }
}

impl std::error::Error for CheckError {}

/// An attestation whose signature holds under a trusted root.
#[derive(Clone, Debug)]
pub struct Checked {
    pub statement: Statement,
    /// The attestation certificate's subject, then its issuers up to the
    /// root.
    pub chain: Vec<String>,
    /// Every certificate below the root had a CRL from its issuer.
    pub revocation_checked: bool,
}

/// The key id a certificate goes by in an attestation: the first 8 bytes
/// of the SHA-256 of its DER.
pub fn key_id(cert: &Certificate) -> [u8; 8] {
    let mut id = [0u8; 8];
    id.copy_from_slice(&cert.sha256()[..8]);
    id
}

/// Signs `statement` with the attestation key and returns the QR text:
/// `{server}/c/{BASE32}` (`server` without a trailing slash).
pub fn sign(
    statement: &Statement,
    key: &SigningKey,
    cert: &Certificate,
    server: &str,
) -> Result<String, coffre_seal::Error> {
    let payload = encode_statement(statement);
    let sign1 = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES256)
                .build(),
        )
        .unprotected(HeaderBuilder::new().key_id(key_id(cert).to_vec()).build())
        .payload(payload)
        .try_create_signature(b"", |tbs| key.sign_es256(tbs).map(|s| s.to_vec()))?
        .build();
    let bytes = sign1
        .to_vec()
        .map_err(|e| coffre_seal::Error::Encoding(e.to_string()))?;
    Ok(format!(
        "{}{PATH}{}",
        server.trim_end_matches('/'),
        data_encoding::BASE32_NOPAD.encode(&bytes)
    ))
}

/// The statement a text carries, unchecked: for showing what a text
/// claims before (or without) trusting it.
pub fn read(text: &str) -> Result<(Statement, [u8; 8]), CheckError> {
    let sign1 = decode(text)?;
    let kid = kid_of(&sign1)?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or(CheckError::Malformed("no statement"))?;
    Ok((decode_statement(payload)?, kid))
}

/// Checks a QR text: a COSE_Sign1 over a statement, by one of
/// `attestation_certs` (found by key id), whose certificate chains to an
/// anchor of `cfg` at the statement's signing time and is not revoked.
/// `carried` are the CA certificates between the key and the root.
pub fn check(
    text: &str,
    attestation_certs: &[Certificate],
    carried: &[Certificate],
    cfg: &ValidationConfig,
) -> Result<Checked, CheckError> {
    let sign1 = decode(text)?;
    let kid = kid_of(&sign1)?;
    if sign1.protected.header.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::ES256)) {
        return Err(CheckError::Malformed("not an ES256 signature"));
    }
    let cert = attestation_certs
        .iter()
        .find(|c| key_id(c) == kid)
        .ok_or(CheckError::UnknownKey)?;
    sign1.verify_signature(b"", |sig, tbs| {
        if cert.verify_es256(tbs, sig) {
            Ok(())
        } else {
            Err(CheckError::BadSignature)
        }
    })?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or(CheckError::Malformed("no statement"))?;
    let statement = decode_statement(payload)?;
    let path = check_certificate(cert, carried, cfg, statement.issued_at)
        .map_err(|why| CheckError::Untrusted(why.to_owned()))?;
    if path.revoked_at.is_some() {
        return Err(CheckError::Untrusted(
            "the attestation certificate was revoked".into(),
        ));
    }
    // A seal certificate of an organisation chains to the same root; only
    // the operator's own attestation certificate may attest.
    let root = path.chain.last().map(Certificate::organization);
    if root != Some(cert.organization()) {
        return Err(CheckError::Untrusted(
            "the key is not the operator's attestation key".into(),
        ));
    }
    Ok(Checked {
        statement,
        chain: path.chain.iter().map(Certificate::subject).collect(),
        revocation_checked: path.revocation_checked,
    })
}

/// The text's COSE_Sign1, from the part after the last `/c/` (or the whole
/// text when it is base32 alone). Case and surrounding blanks do not
/// matter: a scanner may change either.
fn decode(text: &str) -> Result<CoseSign1, CheckError> {
    let text = text.trim();
    if text.len() > TEXT_MAX {
        return Err(CheckError::Malformed("too long"));
    }
    let b32 = match text.to_ascii_lowercase().rfind(PATH) {
        Some(i) => &text[i + PATH.len()..],
        None => text,
    };
    let b32 = b32.trim_end_matches('/').to_ascii_uppercase();
    let bytes = data_encoding::BASE32_NOPAD
        .decode(b32.as_bytes())
        .map_err(|_| CheckError::Malformed("the code's text is damaged"))?;
    CoseSign1::from_slice(&bytes).map_err(|_| CheckError::Malformed("not a signed statement"))
}

fn kid_of(sign1: &CoseSign1) -> Result<[u8; 8], CheckError> {
    sign1
        .unprotected
        .key_id
        .as_slice()
        .try_into()
        .map_err(|_| CheckError::Malformed("no key id"))
}

// The statement: a CBOR map with small integer keys.
const K_ISSUER: i64 = 1;
const K_STUDENT: i64 = 2;
const K_TITLE: i64 = 3;
const K_KIND: i64 = 4;
const K_YEAR: i64 = 5;
const K_SHA256: i64 = 6;
const K_DEPOSITED: i64 = 7;
const K_DOCUMENT: i64 = 8;
const K_ISSUED: i64 = 9;

fn encode_statement(s: &Statement) -> Vec<u8> {
    let text = |v: &str| Value::Text(cut(v, FIELD_MAX).to_owned());
    // A hex id travels as its 16 bytes.
    let document = match data_encoding::HEXLOWER_PERMISSIVE.decode(s.document_id.as_bytes()) {
        Ok(bytes) if bytes.len() == 16 => Value::Bytes(bytes),
        _ => text(&s.document_id),
    };
    let mut map = vec![
        (Value::from(K_ISSUER), text(&s.issuer)),
        (Value::from(K_STUDENT), text(&s.student)),
        (Value::from(K_TITLE), text(&s.title)),
        (Value::from(K_KIND), text(&s.kind)),
    ];
    if let Some(year) = &s.year {
        map.push((Value::from(K_YEAR), text(year)));
    }
    map.extend([
        (Value::from(K_SHA256), Value::Bytes(s.sha256.to_vec())),
        (Value::from(K_DEPOSITED), Value::from(s.deposited_at.0)),
        (Value::from(K_DOCUMENT), document),
        (Value::from(K_ISSUED), Value::from(s.issued_at.0)),
    ]);
    let mut out = Vec::with_capacity(256);
    // Writing to a Vec cannot fail.
    let _ = ciborium::into_writer(&Value::Map(map), &mut out);
    out
}

fn decode_statement(bytes: &[u8]) -> Result<Statement, CheckError> {
    let bad = CheckError::Malformed("the statement is not readable");
    let value: Value = ciborium::from_reader(bytes).map_err(|_| bad.clone())?;
    let Value::Map(map) = value else {
        return Err(bad);
    };
    let get = |k: i64| {
        map.iter()
            .find(|(key, _)| key.as_integer() == Some(k.into()))
            .map(|(_, v)| v)
    };
    let text = |k: i64| -> Result<String, CheckError> {
        get(k)
            .and_then(Value::as_text)
            .map(str::to_owned)
            .ok_or(CheckError::Malformed("a field of the statement is missing"))
    };
    let int = |k: i64| -> Result<i64, CheckError> {
        get(k)
            .and_then(Value::as_integer)
            .and_then(|i| i64::try_from(i).ok())
            .ok_or(CheckError::Malformed("a date of the statement is missing"))
    };
    let sha256: [u8; 32] = get(K_SHA256)
        .and_then(Value::as_bytes)
        .and_then(|b| b.as_slice().try_into().ok())
        .ok_or(CheckError::Malformed("the statement has no SHA-256"))?;
    let document_id = match get(K_DOCUMENT) {
        Some(Value::Bytes(b)) => data_encoding::HEXLOWER.encode(b),
        Some(Value::Text(t)) => t.clone(),
        _ => return Err(CheckError::Malformed("the statement has no document id")),
    };
    Ok(Statement {
        issuer: text(K_ISSUER)?,
        student: text(K_STUDENT)?,
        title: text(K_TITLE)?,
        kind: text(K_KIND)?,
        year: get(K_YEAR).and_then(Value::as_text).map(str::to_owned),
        sha256,
        deposited_at: UnixTime(int(K_DEPOSITED)?),
        document_id,
        issued_at: UnixTime(int(K_ISSUED)?),
    })
}

/// SHA-256 of a document, as its statement carries it.
pub fn digest(original: &[u8]) -> [u8; 32] {
    sha256(original)
}
