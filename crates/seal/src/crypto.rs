//! Keys, certificates, CRLs, digests and signature checks.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use ring::signature::{self as sig, KeyPair as _};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::Certificate as X509;

use crate::oid;
use crate::Error;

/// Seconds since the Unix epoch, UTC. The crate never reads a clock: every
/// time it uses is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub i64);

impl UnixTime {
    pub(crate) fn from_x509(t: x509_cert::time::Time) -> UnixTime {
        UnixTime(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX))
    }

    pub(crate) fn to_generalized(self) -> Result<der::asn1::GeneralizedTime, Error> {
        let secs = u64::try_from(self.0).map_err(|_| Error::BadTime(self.0))?;
        der::asn1::GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
            .map_err(|_| Error::BadTime(self.0))
    }

    /// Calendar fields (UTC): year, month, day, hour, minute, second.
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        // Howard Hinnant's days-to-civil.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i64::from(m <= 2);
        (
            y,
            m,
            d,
            (secs / 3600) as u32,
            (secs % 3600 / 60) as u32,
            (secs % 60) as u32,
        )
    }

    /// `2026-11-30T09:05:00Z`.
    pub fn to_rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// A PDF date string: `D:20261130090500+00'00'`.
    pub fn to_pdf_date(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("D:{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}+00'00'")
    }

    /// Parses a PDF date (`D:YYYYMMDDHHmmSSOHH'mm'`, trailing parts optional).
    pub fn from_pdf_date(s: &[u8]) -> Option<UnixTime> {
        let s = s.strip_prefix(b"D:").unwrap_or(s);
        let num = |r: std::ops::Range<usize>, default: i64| -> Option<i64> {
            match s.get(r) {
                Some(d) if d.iter().all(u8::is_ascii_digit) => {
                    std::str::from_utf8(d).ok()?.parse().ok()
                }
                Some(_) => None,
                None => Some(default),
            }
        };
        let y = num(0..4, -1).filter(|y| *y >= 0)?;
        let (mo, d) = (num(4..6, 1)?, num(6..8, 1)?);
        let (h, mi, sec) = (num(8..10, 0)?, num(10..12, 0)?, num(12..14, 0)?);
        let mut offset = 0;
        if let Some(&sign) = s.get(14) {
            if sign == b'+' || sign == b'-' {
                let oh = num(15..17, 0)?;
                let om = num(18..20, 0)?;
                offset = (oh * 3600 + om * 60) * if sign == b'-' { -1 } else { 1 };
            }
        }
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        Some(UnixTime(
            days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset,
        ))
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The hash functions a signature may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    /// SHAKE256 with 512 bits of output, as Ed448 in CMS uses it (RFC 8419).
    Shake256,
}

impl DigestAlg {
    /// Security strength in bits (collision resistance): the lower of two
    /// digests is the weaker.
    pub(crate) fn strength(self) -> u32 {
        match self {
            DigestAlg::Sha1 => 63,
            DigestAlg::Sha256 => 128,
            DigestAlg::Sha384 => 192,
            DigestAlg::Sha512 | DigestAlg::Shake256 => 256,
        }
    }

    /// The weaker of two digests, either of which may be unknown.
    pub(crate) fn weaker(a: Option<DigestAlg>, b: Option<DigestAlg>) -> Option<DigestAlg> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if a.strength() <= b.strength() { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    pub fn from_oid(o: &ObjectIdentifier) -> Option<DigestAlg> {
        Some(match *o {
            oid::SHA1 => DigestAlg::Sha1,
            oid::SHA256 => DigestAlg::Sha256,
            oid::SHA384 => DigestAlg::Sha384,
            oid::SHA512 => DigestAlg::Sha512,
            oid::SHAKE256 | oid::SHAKE256_LEN => DigestAlg::Shake256,
            _ => return None,
        })
    }

    fn ring(self) -> Option<&'static ring::digest::Algorithm> {
        Some(match self {
            DigestAlg::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            DigestAlg::Sha256 => &ring::digest::SHA256,
            DigestAlg::Sha384 => &ring::digest::SHA384,
            DigestAlg::Sha512 => &ring::digest::SHA512,
            DigestAlg::Shake256 => return None,
        })
    }

    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        let Some(alg) = self.ring() else {
            use shake::digest::{ExtendableOutput, Update};
            let mut h = shake::Shake256::default();
            for p in parts {
                h.update(p);
            }
            let mut out = vec![0u8; 64];
            h.finalize_xof_into(&mut out);
            return out;
        };
        let mut ctx = ring::digest::Context::new(alg);
        for p in parts {
            ctx.update(p);
        }
        ctx.finish().as_ref().to_vec()
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A private key that signs seals and time-stamps: ECDSA P-256.
pub struct SigningKey {
    pair: sig::EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(ECDSA P-256)")
    }
}

impl SigningKey {
    /// Reads a PEM `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1).
    pub fn from_pem(pem: &str) -> Result<SigningKey, Error> {
        let (label, der) = pem_rfc7468_decode(pem).ok_or(Error::BadKey("not a PEM private key"))?;
        match label.as_str() {
            "PRIVATE KEY" => SigningKey::from_pkcs8(&der),
            "EC PRIVATE KEY" => {
                let sec1 = sec1::EcPrivateKey::from_der(&der)
                    .map_err(|_| Error::BadKey("malformed EC PRIVATE KEY"))?;
                if let Some(params) = sec1.parameters {
                    if params.named_curve() != Some(oid::P256) {
                        return Err(Error::BadKey("only P-256 keys can seal"));
                    }
                }
                let public = sec1
                    .public_key
                    .ok_or(Error::BadKey("EC PRIVATE KEY without its public key"))?;
                let rng = ring::rand::SystemRandom::new();
                let pair = sig::EcdsaKeyPair::from_private_key_and_public_key(
                    &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
                    sec1.private_key,
                    public,
                    &rng,
                )
                .map_err(|_| Error::BadKey("EC key rejected"))?;
                let pkcs8 = pkcs8_from_sec1(&der);
                Ok(SigningKey { pair, pkcs8 })
            }
            _ => Err(Error::BadKey("PEM block is not a private key")),
        }
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, Error> {
        let rng = ring::rand::SystemRandom::new();
        let pair = sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
            .map_err(|_| Error::BadKey("not an ECDSA P-256 PKCS#8 key"))?;
        Ok(SigningKey {
            pair,
            pkcs8: der.to_vec(),
        })
    }

    /// A new random key.
    pub fn generate() -> Result<SigningKey, Error> {
        let rng = ring::rand::SystemRandom::new();
        let doc = sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| Error::BadKey("key generation failed"))?;
        SigningKey::from_pkcs8(doc.as_ref())
    }

    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn to_pem(&self) -> String {
        pem_encode("PRIVATE KEY", &self.pkcs8)
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// ECDSA-SHA256 over `msg` in the fixed `r ‖ s` form of COSE's ES256:
    /// 64 bytes.
    pub fn sign_es256(&self, msg: &[u8]) -> Result<[u8; 64], Error> {
        let der = self.sign(msg)?;
        der_ecdsa_to_fixed(&der).ok_or(Error::BadKey("signing failed"))
    }

    /// ECDSA-SHA256 over `msg`, DER-encoded.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = ring::rand::SystemRandom::new();
        self.pair
            .sign(&rng, msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| Error::BadKey("signing failed"))
    }

    pub(crate) fn signature_algorithm(&self) -> ObjectIdentifier {
        oid::ECDSA_SHA256
    }
}

/// `SEQUENCE { INTEGER r, INTEGER s }` to `r ‖ s`, each on 32 bytes.
fn der_ecdsa_to_fixed(der: &[u8]) -> Option<[u8; 64]> {
    // Short lengths only: a P-256 signature is at most 72 bytes.
    let (&tag, rest) = der.split_first()?;
    let (&len, mut body) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != body.len() {
        return None;
    }
    let mut out = [0u8; 64];
    for half in out.chunks_mut(32) {
        let (&tag, rest) = body.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let len = usize::from(len);
        if tag != 0x02 || len > rest.len() {
            return None;
        }
        let (int, after) = rest.split_at(len);
        let int = match int {
            [0, tail @ ..] => tail,
            _ => int,
        };
        if int.len() > 32 {
            return None;
        }
        half[32 - int.len()..].copy_from_slice(int);
        body = after;
    }
    body.is_empty().then_some(out)
}

/// Wraps a SEC1 key in a PKCS#8 document (RFC 5915 §1).
fn pkcs8_from_sec1(sec1: &[u8]) -> Vec<u8> {
    let alg = spki::AlgorithmIdentifierOwned {
        oid: oid::EC_PUBLIC_KEY,
        parameters: der::Any::encode_from(&oid::P256).ok(),
    };
    let mut body = Vec::new();
    let _ = 0u8.encode_to_vec(&mut body);
    let _ = alg.encode_to_vec(&mut body);
    if let Ok(os) = der::asn1::OctetStringRef::new(sec1) {
        let _ = os.encode_to_vec(&mut body);
    }
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// Appends a DER length.
pub(crate) fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// An X.509 certificate with its DER bytes. Cheap to clone.
#[derive(Clone)]
pub struct Certificate(Arc<CertInner>);

struct CertInner {
    x509: X509,
    der: Vec<u8>,
    /// SHA-256 of `der`: the certificate's identity in caches.
    sha256: [u8; 32],
    /// The extensions path validation reads, decoded once.
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    extended_key_usage: Option<Vec<ObjectIdentifier>>,
    unknown_critical: Vec<String>,
    /// The subject and its common name as reports show them, made once.
    subject: std::sync::OnceLock<String>,
    common_name: std::sync::OnceLock<Option<String>>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({})", self.subject())
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.sha256 == other.0.sha256
    }
}

impl Certificate {
    pub fn from_der(der: &[u8]) -> Result<Certificate, Error> {
        Certificate::from_der_hashed(der, sha256(der))
    }

    /// [`Certificate::from_der`] when the caller has hashed `der` already.
    fn from_der_hashed(der: &[u8], sha256: [u8; 32]) -> Result<Certificate, Error> {
        let x509 =
            X509::from_der(der).map_err(|_| Error::BadCertificate("malformed certificate"))?;
        let basic_constraints =
            extension::<BasicConstraints>(&x509, oid::BASIC_CONSTRAINTS).and_then(|(_, v)| v);
        let key_usage = extension::<KeyUsage>(&x509, oid::KEY_USAGE)
            .map(|(_, v)| v.unwrap_or(KeyUsage(KeyUsages::DecipherOnly.into())));
        let extended_key_usage = extension::<ExtendedKeyUsage>(&x509, oid::EXT_KEY_USAGE)
            .map(|(_, v)| v.map(|e| e.0).unwrap_or_default());
        let unknown_critical = unknown_critical_extensions(&x509);
        Ok(Certificate(Arc::new(CertInner {
            x509,
            der: der.to_vec(),
            sha256,
            basic_constraints,
            key_usage,
            extended_key_usage,
            unknown_critical,
            subject: std::sync::OnceLock::new(),
            common_name: std::sync::OnceLock::new(),
        })))
    }

    /// Every `CERTIFICATE` block of a PEM file, in order.
    pub fn from_pem_chain(pem: &str) -> Result<Vec<Certificate>, Error> {
        let certs = pem_blocks(pem)
            .into_iter()
            .filter(|(label, _)| label == "CERTIFICATE")
            .map(|(_, der)| Certificate::from_der(&der))
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(Error::BadCertificate("no CERTIFICATE block in PEM"));
        }
        Ok(certs)
    }

    pub fn der(&self) -> &[u8] {
        &self.0.der
    }

    pub(crate) fn x509(&self) -> &X509 {
        &self.0.x509
    }

    pub fn to_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.0.der)
    }

    /// The subject as `CN=…, O=…`.
    pub fn subject(&self) -> String {
        self.0
            .subject
            .get_or_init(|| format_name(&self.0.x509.tbs_certificate.subject))
            .clone()
    }

    pub fn common_name(&self) -> Option<String> {
        self.0
            .common_name
            .get_or_init(|| name_attr(&self.0.x509.tbs_certificate.subject, oid::CN))
            .clone()
    }

    /// How a report names this certificate: its common name, else its
    /// whole subject.
    pub(crate) fn name(&self) -> String {
        self.common_name().unwrap_or_else(|| self.subject())
    }

    pub fn organization(&self) -> Option<String> {
        name_attr(&self.0.x509.tbs_certificate.subject, oid::O)
    }

    pub fn serial_hex(&self) -> String {
        hex(self.0.x509.tbs_certificate.serial_number.as_bytes())
    }

    pub fn not_before(&self) -> UnixTime {
        UnixTime::from_x509(self.0.x509.tbs_certificate.validity.not_before)
    }

    pub fn not_after(&self) -> UnixTime {
        UnixTime::from_x509(self.0.x509.tbs_certificate.validity.not_after)
    }

    pub fn sha256(&self) -> [u8; 32] {
        self.0.sha256
    }

    pub(crate) fn issued(&self, child_issuer: &x509_cert::name::Name) -> bool {
        &self.0.x509.tbs_certificate.subject == child_issuer
    }

    pub fn is_self_issued(&self) -> bool {
        self.0.x509.tbs_certificate.subject == self.0.x509.tbs_certificate.issuer
    }

    /// `issuer` names this certificate's issuer and its key signed it.
    pub fn is_issued_by(&self, issuer: &Certificate) -> bool {
        issuer.issued(&self.0.x509.tbs_certificate.issuer) && self.signed_by(issuer)
    }

    pub(crate) fn basic_constraints(&self) -> Option<&BasicConstraints> {
        self.0.basic_constraints.as_ref()
    }

    /// `None` when the certificate has no key usage extension.
    pub(crate) fn key_usage(&self) -> Option<KeyUsage> {
        self.0.key_usage
    }

    pub(crate) fn extended_key_usage(&self) -> Option<&[ObjectIdentifier]> {
        self.0.extended_key_usage.as_deref()
    }

    /// Critical extensions this validator does not understand.
    pub(crate) fn unknown_critical_extensions(&self) -> &[String] {
        &self.0.unknown_critical
    }

    pub(crate) fn spki(&self) -> &spki::SubjectPublicKeyInfoOwned {
        &self.0.x509.tbs_certificate.subject_public_key_info
    }

    /// Checks an ECDSA P-256 / SHA-256 signature in the fixed `r ‖ s` form
    /// (COSE's ES256, JOSE's) over `msg` with this certificate's key.
    pub fn verify_es256(&self, msg: &[u8], signature: &[u8]) -> bool {
        let spki = self.spki();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if spki.algorithm.oid != oid::EC_PUBLIC_KEY || curve != Some(oid::P256) {
            return false;
        }
        sig::UnparsedPublicKey::new(
            &sig::ECDSA_P256_SHA256_FIXED,
            spki.subject_public_key.raw_bytes(),
        )
        .verify(msg, signature)
        .is_ok()
    }

    /// Checks that `issuer` signed this certificate.
    pub(crate) fn signed_by(&self, issuer: &Certificate) -> bool {
        let Some(tbs) = first_element(&self.0.der) else {
            return false;
        };
        verify_signature(
            issuer.spki(),
            &self.0.x509.signature_algorithm,
            None,
            tbs,
            self.0.x509.signature.raw_bytes(),
        )
        .is_ok()
    }
}

/// An extension of `x509`: whether it is critical, and its value if it
/// decodes.
fn extension<'a, T: Decode<'a>>(x509: &'a X509, id: ObjectIdentifier) -> Option<(bool, Option<T>)> {
    let exts = x509.tbs_certificate.extensions.as_ref()?;
    let e = exts.iter().find(|e| e.extn_id == id)?;
    Some((e.critical, T::from_der(e.extn_value.as_bytes()).ok()))
}

fn unknown_critical_extensions(x509: &X509) -> Vec<String> {
    let known = [
        oid::BASIC_CONSTRAINTS,
        oid::KEY_USAGE,
        oid::EXT_KEY_USAGE,
        oid::SUBJECT_ALT_NAME,
        oid::CERT_POLICIES,
        oid::POLICY_CONSTRAINTS,
        oid::INHIBIT_ANY_POLICY,
        oid::SUBJECT_KEY_ID,
        oid::AUTHORITY_KEY_ID,
    ];
    x509.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.critical && !known.contains(&e.extn_id))
        .map(|e| e.extn_id.to_string())
        .collect()
}

/// Parsed certificates or CRLs, by the SHA-256 of their DER: a batch from
/// one issuer parses its chain once.
#[derive(Debug)]
pub(crate) struct ParseCache<T>(Mutex<HashMap<[u8; 32], T>>);

pub(crate) type CertCache = ParseCache<Certificate>;

impl<T> Default for ParseCache<T> {
    fn default() -> Self {
        ParseCache(Mutex::default())
    }
}

impl<T: Clone> ParseCache<T> {
    /// Most entries kept; past this the cache starts over.
    const MAX: usize = 10_000;

    pub(crate) fn get_or_parse(
        &self,
        der: &[u8],
        parse: impl FnOnce(&[u8], [u8; 32]) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let key = sha256(der);
        // A poisoned lock only means another thread panicked mid-insert;
        // the map is still a valid map.
        if let Some(c) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(c.clone());
        }
        let value = parse(der, key)?;
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(key, value.clone());
        Ok(value)
    }
}

impl ParseCache<Certificate> {
    pub(crate) fn parse(&self, der: &[u8]) -> Result<Certificate, Error> {
        self.get_or_parse(der, Certificate::from_der_hashed)
    }
}

/// A certificate revocation list.
#[derive(Clone)]
pub struct Crl {
    pub(crate) list: CertificateList,
    pub(crate) der: Vec<u8>,
    /// SHA-256 of `der`: the list's identity in caches.
    pub(crate) sha256: [u8; 32],
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Crl({})", self.list.tbs_cert_list.issuer)
    }
}

impl Crl {
    pub fn from_der(der: &[u8]) -> Result<Crl, Error> {
        Crl::from_der_hashed(der, sha256(der))
    }

    /// [`Crl::from_der`] when the caller has hashed `der` already.
    pub(crate) fn from_der_hashed(der: &[u8], sha256: [u8; 32]) -> Result<Crl, Error> {
        let list = CertificateList::from_der(der).map_err(|_| Error::BadCrl)?;
        Ok(Crl {
            list,
            der: der.to_vec(),
            sha256,
        })
    }

    /// Accepts DER, or PEM with one or more `X509 CRL` blocks (the first is taken).
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Crl, Error> {
        if let Ok(text) = std::str::from_utf8(bytes) {
            if text.contains("-----BEGIN") {
                let der = pem_blocks(text)
                    .into_iter()
                    .find(|(l, _)| l == "X509 CRL")
                    .ok_or(Error::BadCrl)?
                    .1;
                return Crl::from_der(&der);
            }
        }
        Crl::from_der(bytes)
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn to_pem(&self) -> String {
        pem_encode("X509 CRL", &self.der)
    }

    pub fn this_update(&self) -> UnixTime {
        UnixTime::from_x509(self.list.tbs_cert_list.this_update)
    }

    pub fn next_update(&self) -> Option<UnixTime> {
        self.list.tbs_cert_list.next_update.map(UnixTime::from_x509)
    }

    /// `issuer` names this list's issuer and its key signed it.
    pub fn is_signed_by(&self, issuer: &Certificate) -> bool {
        self.signed_by(issuer)
    }

    pub(crate) fn signed_by(&self, issuer: &Certificate) -> bool {
        let Some(tbs) = first_element(&self.der) else {
            return false;
        };
        issuer.issued(&self.list.tbs_cert_list.issuer)
            && verify_signature(
                issuer.spki(),
                &self.list.signature_algorithm,
                None,
                tbs,
                self.list.signature.raw_bytes(),
            )
            .is_ok()
    }

    /// When `cert` was revoked, if this list says it was.
    pub(crate) fn revocation_of(&self, cert: &Certificate) -> Option<UnixTime> {
        let serial = &cert.x509().tbs_certificate.serial_number;
        self.list
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .find(|r| r.serial_number.as_bytes() == serial.as_bytes())
            .map(|r| UnixTime::from_x509(r.revocation_date))
    }
}

/// The raw bytes of the first element inside a DER SEQUENCE (the TBS part of
/// a certificate or CRL), as signed.
pub(crate) fn first_element(der: &[u8]) -> Option<&[u8]> {
    let (_, inner) = split_tlv(der)?;
    let (len, _) = split_tlv(inner)?;
    inner.get(..len)
}

/// Returns (total length of the TLV at the start, its contents).
fn split_tlv(der: &[u8]) -> Option<(usize, &[u8])> {
    let first_len = *der.get(1)?;
    let (len, header) = if first_len < 0x80 {
        (usize::from(first_len), 2)
    } else {
        let n = usize::from(first_len & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in der.get(2..2 + n)? {
            len = len << 8 | usize::from(*b);
        }
        (len, 2 + n)
    };
    let total = header.checked_add(len)?;
    Some((total, der.get(header..total)?))
}

/// Why a signature could not be found good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadSignature {
    /// Checked, and it does not verify.
    Invalid,
    /// An algorithm, curve or key this verifier cannot check: no verdict.
    Unsupported(&'static str),
}

/// The family and strength of a signature, for the algorithm policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa { bits: usize },
    Ecdsa { bits: usize },
    Ed25519,
    Ed448,
    Other,
}

/// What `spki` is, and its size.
pub(crate) fn key_kind(spki: &spki::SubjectPublicKeyInfoOwned) -> KeyKind {
    let key_bytes = spki.subject_public_key.raw_bytes();
    match spki.algorithm.oid {
        oid::RSA_ENCRYPTION | oid::RSA_PSS => {
            rsa_modulus_bits(key_bytes).map_or(KeyKind::Other, |bits| KeyKind::Rsa { bits })
        }
        oid::EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            match curve {
                Some(oid::P256) | Some(oid::BRAINPOOL_P256) => KeyKind::Ecdsa { bits: 256 },
                Some(oid::P384) | Some(oid::BRAINPOOL_P384) => KeyKind::Ecdsa { bits: 384 },
                Some(oid::P521) => KeyKind::Ecdsa { bits: 521 },
                Some(oid::BRAINPOOL_P512) => KeyKind::Ecdsa { bits: 512 },
                _ => KeyKind::Other,
            }
        }
        oid::ED25519 => KeyKind::Ed25519,
        oid::ED448 => KeyKind::Ed448,
        _ => KeyKind::Other,
    }
}

/// The bit length of an RSA public key's modulus (PKCS#1 `RSAPublicKey`).
fn rsa_modulus_bits(key: &[u8]) -> Option<usize> {
    let (_, seq) = split_tlv(key)?;
    if seq.first() != Some(&0x02) {
        return None;
    }
    let (_, modulus) = split_tlv(seq)?;
    let modulus = match modulus {
        [0, rest @ ..] => rest,
        m => m,
    };
    let top = *modulus.first()?;
    Some(modulus.len() * 8 - top.leading_zeros() as usize)
}

const KNOWN_SIGNATURE_ALGORITHMS: [ObjectIdentifier; 17] = [
    oid::ECDSA_SHA1,
    oid::ECDSA_SHA256,
    oid::ECDSA_SHA384,
    oid::ECDSA_SHA512,
    oid::ECDSA_PLAIN_SHA1,
    oid::ECDSA_PLAIN_SHA256,
    oid::ECDSA_PLAIN_SHA384,
    oid::ECDSA_PLAIN_SHA512,
    oid::SHA1_RSA,
    oid::SHA256_RSA,
    oid::SHA384_RSA,
    oid::SHA512_RSA,
    oid::RSA_ENCRYPTION,
    oid::EC_PUBLIC_KEY,
    oid::RSA_PSS,
    oid::ED25519,
    oid::ED448,
];

/// The digest a signature algorithm names (`None` for EdDSA, which hashes
/// on its own, and for names that leave it to the CMS digest).
pub(crate) fn signature_digest(
    alg: &spki::AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlg>,
) -> Option<DigestAlg> {
    match alg.oid {
        oid::ECDSA_SHA256 | oid::SHA256_RSA | oid::ECDSA_PLAIN_SHA256 => Some(DigestAlg::Sha256),
        oid::ECDSA_SHA384 | oid::SHA384_RSA | oid::ECDSA_PLAIN_SHA384 => Some(DigestAlg::Sha384),
        oid::ECDSA_SHA512 | oid::SHA512_RSA | oid::ECDSA_PLAIN_SHA512 => Some(DigestAlg::Sha512),
        oid::SHA1_RSA | oid::ECDSA_SHA1 | oid::ECDSA_PLAIN_SHA1 => Some(DigestAlg::Sha1),
        oid::RSA_PSS => pss_digest(alg),
        oid::ED25519 | oid::ED448 => None,
        _ => digest_hint,
    }
}

/// Verifies `signature` over `msg` with the public key in `spki`.
///
/// `digest_hint` is the CMS digest algorithm, needed when the signature
/// algorithm names only the key type (`rsaEncryption`, `id-ecPublicKey`).
pub(crate) fn verify_signature(
    spki: &spki::SubjectPublicKeyInfoOwned,
    alg: &spki::AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlg>,
    msg: &[u8],
    signature: &[u8],
) -> Result<(), BadSignature> {
    use BadSignature::{Invalid, Unsupported};
    let key_bytes = spki.subject_public_key.raw_bytes();
    let key_alg = spki.algorithm.oid;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if !KNOWN_SIGNATURE_ALGORITHMS.contains(&alg.oid) {
        return Err(Unsupported("the signature algorithm"));
    }
    let digest = signature_digest(alg, digest_hint);
    if key_alg == oid::ED25519 || alg.oid == oid::ED25519 {
        if key_alg != oid::ED25519 || alg.oid != oid::ED25519 {
            return Err(Invalid);
        }
        return sig::UnparsedPublicKey::new(&sig::ED25519, key_bytes)
            .verify(msg, signature)
            .map_err(|_| Invalid);
    }
    if key_alg == oid::ED448 || alg.oid == oid::ED448 {
        if key_alg != oid::ED448 || alg.oid != oid::ED448 {
            return Err(Invalid);
        }
        let key = <&[u8; 57]>::try_from(key_bytes)
            .ok()
            .and_then(|k| ed448_goldilocks_plus::VerifyingKey::from_bytes(k).ok())
            .ok_or(Invalid)?;
        let signature =
            ed448_goldilocks_plus::Signature::try_from(signature).map_err(|_| Invalid)?;
        return key.verify_raw(&signature, msg).map_err(|_| Invalid);
    }
    if key_alg == oid::EC_PUBLIC_KEY {
        // BSI TR-03111 plain signatures carry r ‖ s; ring reads DER.
        let plain = matches!(
            alg.oid,
            oid::ECDSA_PLAIN_SHA1
                | oid::ECDSA_PLAIN_SHA256
                | oid::ECDSA_PLAIN_SHA384
                | oid::ECDSA_PLAIN_SHA512
        );
        let der_sig;
        let signature = if plain {
            der_sig = fixed_ecdsa_to_der(signature).ok_or(Invalid)?;
            &der_sig[..]
        } else {
            signature
        };
        let verifier: &dyn sig::VerificationAlgorithm = match (curve, digest) {
            (Some(oid::P256), Some(DigestAlg::Sha256)) => &sig::ECDSA_P256_SHA256_ASN1,
            (Some(oid::P256), Some(DigestAlg::Sha384)) => &sig::ECDSA_P256_SHA384_ASN1,
            (Some(oid::P384), Some(DigestAlg::Sha256)) => &sig::ECDSA_P384_SHA256_ASN1,
            (Some(oid::P384), Some(DigestAlg::Sha384)) => &sig::ECDSA_P384_SHA384_ASN1,
            (Some(oid::P256 | oid::P384), _) => {
                return Err(Unsupported("this ECDSA digest on this curve"))
            }
            _ => return Err(Unsupported("this elliptic curve")),
        };
        return sig::UnparsedPublicKey::new(verifier, key_bytes)
            .verify(msg, signature)
            .map_err(|_| Invalid);
    }
    if key_alg != oid::RSA_ENCRYPTION && key_alg != oid::RSA_PSS {
        return Err(Unsupported("this kind of public key"));
    }
    let bits = rsa_modulus_bits(key_bytes).ok_or(Invalid)?;
    if alg.oid == oid::RSA_PSS {
        let verifier: &dyn sig::VerificationAlgorithm = match pss_digest(alg) {
            Some(DigestAlg::Sha256) => &sig::RSA_PSS_2048_8192_SHA256,
            Some(DigestAlg::Sha384) => &sig::RSA_PSS_2048_8192_SHA384,
            Some(DigestAlg::Sha512) => &sig::RSA_PSS_2048_8192_SHA512,
            _ => return Err(Unsupported("these RSA-PSS parameters")),
        };
        if !(2048..=8192).contains(&bits) {
            return Err(Unsupported("RSA-PSS with a key of this size"));
        }
        return sig::UnparsedPublicKey::new(verifier, key_bytes)
            .verify(msg, signature)
            .map_err(|_| Invalid);
    }
    let digest = digest.ok_or(Unsupported("an RSA signature without a digest"))?;
    if (2048..=8192).contains(&bits) {
        let verifier: &dyn sig::VerificationAlgorithm = match digest {
            DigestAlg::Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            DigestAlg::Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            DigestAlg::Sha512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            DigestAlg::Sha1 => &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            DigestAlg::Shake256 => return Err(Unsupported("RSA with SHAKE256")),
        };
        return sig::UnparsedPublicKey::new(verifier, key_bytes)
            .verify(msg, signature)
            .map_err(|_| Invalid);
    }
    // Shorter keys (older producers' 1024-bit ones): checked here, judged
    // by the algorithm policy.
    if !(512..2048).contains(&bits) {
        return Err(Unsupported("an RSA key of this size"));
    }
    rsa_pkcs1_short(key_bytes, digest, msg, signature)
}

fn rsa_pkcs1_short(
    key: &[u8],
    digest: DigestAlg,
    msg: &[u8],
    signature: &[u8],
) -> Result<(), BadSignature> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    let key = rsa::RsaPublicKey::from_pkcs1_der(key).map_err(|_| BadSignature::Invalid)?;
    let scheme = match digest {
        DigestAlg::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
        DigestAlg::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        DigestAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
        DigestAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        DigestAlg::Shake256 => return Err(BadSignature::Unsupported("RSA with SHAKE256")),
    };
    key.verify(scheme, &digest.digest(&[msg]), signature)
        .map_err(|_| BadSignature::Invalid)
}

/// `r ‖ s` (two halves of equal length) to `SEQUENCE { INTEGER r, INTEGER s }`.
fn fixed_ecdsa_to_der(fixed: &[u8]) -> Option<Vec<u8>> {
    if fixed.is_empty() || !fixed.len().is_multiple_of(2) || fixed.len() > 132 {
        return None;
    }
    let mut body = Vec::new();
    for half in fixed.chunks(fixed.len() / 2) {
        let skip = half
            .iter()
            .take_while(|b| **b == 0)
            .count()
            .min(half.len() - 1);
        let int = &half[skip..];
        body.push(0x02);
        if int[0] & 0x80 != 0 {
            push_len(&mut body, int.len() + 1);
            body.push(0);
        } else {
            push_len(&mut body, int.len());
        }
        body.extend_from_slice(int);
    }
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    Some(out)
}

/// The hash of RSASSA-PSS parameters, when MGF1 uses the same hash and the
/// salt is as long as the hash (what ring verifies).
fn pss_digest(alg: &spki::AlgorithmIdentifierOwned) -> Option<DigestAlg> {
    #[derive(der::Sequence)]
    struct PssParams {
        #[asn1(context_specific = "0", optional = "true")]
        hash: Option<spki::AlgorithmIdentifierOwned>,
        #[asn1(context_specific = "1", optional = "true")]
        mgf: Option<spki::AlgorithmIdentifierOwned>,
        #[asn1(context_specific = "2", optional = "true")]
        salt: Option<u32>,
        #[asn1(context_specific = "3", optional = "true")]
        trailer: Option<u32>,
    }
    let params: PssParams = alg.parameters.as_ref()?.decode_as().ok()?;
    let hash = DigestAlg::from_oid(&params.hash?.oid)?;
    let mgf_hash = params
        .mgf?
        .parameters?
        .decode_as::<spki::AlgorithmIdentifierOwned>()
        .ok()?;
    let salt = params.salt.unwrap_or(20) as usize;
    let len = hash.digest(&[]).len();
    (DigestAlg::from_oid(&mgf_hash.oid) == Some(hash) && salt == len).then_some(hash)
}

const SHORT_NAMES: [(ObjectIdentifier, &str); 11] = [
    (oid::CN, "CN"),
    (oid::O, "O"),
    (ObjectIdentifier::new_unwrap("2.5.4.11"), "OU"),
    (ObjectIdentifier::new_unwrap("2.5.4.6"), "C"),
    (ObjectIdentifier::new_unwrap("2.5.4.7"), "L"),
    (ObjectIdentifier::new_unwrap("2.5.4.8"), "ST"),
    (ObjectIdentifier::new_unwrap("2.5.4.9"), "STREET"),
    (ObjectIdentifier::new_unwrap("2.5.4.5"), "serialNumber"),
    (
        ObjectIdentifier::new_unwrap("2.5.4.97"),
        "organizationIdentifier",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1"),
        "emailAddress",
    ),
    (
        ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.25"),
        "DC",
    ),
];

/// A distinguished name as RFC 4514 writes it (most specific first), with
/// the usual short names.
fn format_name(name: &x509_cert::name::Name) -> String {
    let mut out = String::new();
    for rdn in name.0.iter().rev() {
        for (i, atv) in rdn.0.iter().enumerate() {
            if !out.is_empty() {
                out.push(if i == 0 { ',' } else { '+' });
            }
            match SHORT_NAMES.iter().find(|(o, _)| *o == atv.oid) {
                Some((_, short)) => out.push_str(short),
                None => out.push_str(&atv.oid.to_string()),
            }
            out.push('=');
            let value = attr_text(&atv.value).unwrap_or_default();
            for (j, c) in value.chars().enumerate() {
                if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
                    || (j == 0 && (c == '#' || c == ' '))
                {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
    out
}

fn attr_text(v: &der::Any) -> Option<String> {
    if let Ok(s) = v.decode_as::<der::asn1::Utf8StringRef<'_>>() {
        return Some(s.as_str().to_owned());
    }
    if let Ok(s) = v.decode_as::<der::asn1::PrintableStringRef<'_>>() {
        return Some(s.as_str().to_owned());
    }
    if let Ok(s) = v.decode_as::<der::asn1::Ia5StringRef<'_>>() {
        return Some(s.as_str().to_owned());
    }
    Some(String::from_utf8_lossy(v.value()).into_owned())
}

fn name_attr(name: &x509_cert::name::Name, id: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == id)
        .and_then(|atv| attr_text(&atv.value))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn pem_rfc7468_decode(pem: &str) -> Option<(String, Vec<u8>)> {
    pem_blocks(pem).into_iter().next()
}

/// Every PEM block as (label, DER). Text between blocks is ignored.
pub fn pem_blocks(pem: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut lines = pem.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let mut b64 = String::new();
        for l in lines.by_ref() {
            if l.trim().starts_with("-----END ") {
                break;
            }
            b64.push_str(l.trim());
        }
        if let Some(der) = base64_decode(&b64) {
            out.push((label.to_owned(), der));
        }
    }
    out
}

pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|x| *x == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for t in [0, 951_782_400, 1_796_000_000, 4_102_444_800] {
            let s = UnixTime(t).to_pdf_date();
            assert_eq!(
                UnixTime::from_pdf_date(s.as_bytes()),
                Some(UnixTime(t)),
                "{s}"
            );
        }
        assert_eq!(UnixTime(951_782_400).to_rfc3339(), "2000-02-29T00:00:00Z");
        assert_eq!(
            UnixTime::from_pdf_date(b"D:20000229010000+01'00'"),
            Some(UnixTime(951_782_400))
        );
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..10 {
            let data: Vec<u8> = (0..n).map(|i: u8| i.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
        }
    }
}
