//! CMS SignedData (RFC 5652) as PAdES and RFC 3161 use it: building one
//! with ECDSA P-256, and checking one signed with ECDSA or RSA.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::crypto::{
    key_kind, push_len, signature_digest, verify_signature, BadSignature, CertCache, Certificate,
    DigestAlg, KeyKind, SigningKey, UnixTime,
};
use crate::{oid, Error};

/// ESS SigningCertificateV2 (RFC 5035).
#[derive(Clone, Debug, der::Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    /// Signature policies; allowed, and not ours to judge.
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

#[derive(Clone, Debug, der::Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// ESS SigningCertificate (RFC 2634), SHA-1 based.
#[derive(Clone, Debug, der::Sequence)]
struct SigningCertificateV1 {
    certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

#[derive(Clone, Debug, der::Sequence)]
struct EssCertId {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, der::Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

fn attribute(id: ObjectIdentifier, value: Any) -> Result<Attribute, Error> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(Error::from_der)?;
    Ok(Attribute { oid: id, values })
}

fn any_of<T: Encode>(v: &T) -> Result<Any, Error> {
    Any::from_der(&v.to_der().map_err(Error::from_der)?).map_err(Error::from_der)
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SHA256,
        parameters: None,
    }
}

/// Called with the signature value; returns the unsigned attributes.
pub(crate) type UnsignedAttributes<'a> = dyn FnMut(&[u8]) -> Result<Vec<Attribute>, Error> + 'a;

/// What to sign.
pub(crate) struct SignRequest<'a> {
    pub key: &'a SigningKey,
    /// Signer first, then the rest of the chain to embed.
    pub chain: &'a [Certificate],
    pub content_type: ObjectIdentifier,
    /// Encapsulated content (time-stamp tokens); `None` for detached.
    pub econtent: Option<&'a [u8]>,
    /// SHA-256 of the content.
    pub digest: &'a [u8],
}

/// Builds a SignedData in a ContentInfo. `unsigned` is asked for unsigned
/// attributes once the signature value is known (for the signature
/// time-stamp).
pub(crate) fn sign(
    req: &SignRequest<'_>,
    unsigned: &mut UnsignedAttributes<'_>,
) -> Result<Vec<u8>, Error> {
    let signer = req
        .chain
        .first()
        .ok_or(Error::BadCertificate("empty chain"))?;
    let ess = SigningCertificateV2 {
        policies: None,
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(signer.sha256().to_vec()).map_err(Error::from_der)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    signer.x509().tbs_certificate.issuer.clone(),
                )],
                serial_number: signer.x509().tbs_certificate.serial_number.clone(),
            }),
        }],
    };
    let mut signed_attrs = SetOfVec::new();
    for a in [
        attribute(oid::CONTENT_TYPE, any_of(&req.content_type)?)?,
        attribute(
            oid::MESSAGE_DIGEST,
            any_of(&OctetString::new(req.digest.to_vec()).map_err(Error::from_der)?)?,
        )?,
        attribute(oid::SIGNING_CERTIFICATE_V2, any_of(&ess)?)?,
    ] {
        signed_attrs.insert(a).map_err(Error::from_der)?;
    }
    let to_sign = signed_attrs.to_der().map_err(Error::from_der)?;
    let signature = req.key.sign(&to_sign)?;
    let extra = unsigned(&signature)?;
    let unsigned_attrs = if extra.is_empty() {
        None
    } else {
        let mut set = SetOfVec::new();
        for a in extra {
            set.insert(a).map_err(Error::from_der)?;
        }
        Some(set)
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.x509().tbs_certificate.issuer.clone(),
            serial_number: signer.x509().tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: req.key.signature_algorithm(),
            parameters: None,
        },
        signature: OctetString::new(signature).map_err(Error::from_der)?,
        unsigned_attrs,
    };
    let mut certs = SetOfVec::new();
    for c in req.chain {
        certs
            .insert(CertificateChoices::Certificate(c.x509().clone()))
            .map_err(Error::from_der)?;
    }
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms
        .insert(sha256_alg())
        .map_err(Error::from_der)?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info).map_err(Error::from_der)?;
    let econtent = match req.econtent {
        Some(c) => Some(any_of(
            &OctetString::new(c.to_vec()).map_err(Error::from_der)?,
        )?),
        None => None,
    };
    let sd = SignedData {
        version: if req.content_type == oid::DATA {
            CmsVersion::V1
        } else {
            CmsVersion::V3
        },
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: req.content_type,
            econtent,
        },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    let ci = ContentInfo {
        content_type: oid::SIGNED_DATA,
        content: any_of(&sd)?,
    };
    ci.to_der().map_err(Error::from_der)
}

/// A parsed SignedData.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub econtent_type: ObjectIdentifier,
    /// The encapsulated content: `Some` (perhaps empty) when present.
    pub econtent: Option<Vec<u8>>,
    pub certs: Vec<Certificate>,
    pub signers: Vec<SignerInfoLite>,
    /// Each signer's attributes, decoded once: `None` for one that does
    /// not decode.
    attributes: Vec<Attributes>,
    /// The CMS came in BER (read once converted to DER).
    pub ber: bool,
}

/// A ContentInfo whose content is borrowed, not copied.
#[derive(Debug, der::Sequence)]
struct ContentInfoRef<'a> {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: der::AnyRef<'a>,
}

/// One signer's signed and unsigned attributes, in the order sent.
#[derive(Debug)]
struct Attributes {
    signed: Vec<Option<Attribute>>,
    unsigned: Vec<Option<Attribute>>,
}

/// SignedData with its certificates kept as DER, so that a validator can
/// reuse certificates it has already parsed, and its signers' attributes
/// kept as sent.
#[derive(Debug, der::Sequence)]
pub(crate) struct SignedDataLite {
    pub version: CmsVersion,
    pub digest_algorithms: RawSet,
    pub encap_content_info: EncapsulatedContentInfo,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub certificates: Option<RawSet>,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub crls: Option<RawSet>,
    pub signer_infos: RawSet,
}

/// A SignerInfo whose attribute sets keep each attribute's bytes in the
/// order they came: the signature covers them as the signer encoded them.
#[derive(Debug, der::Sequence)]
pub(crate) struct SignerInfoLite {
    pub version: CmsVersion,
    pub sid: SignerIdentifier,
    pub digest_alg: AlgorithmIdentifierOwned,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub signed_attrs: Option<RawSet>,
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: OctetString,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub unsigned_attrs: Option<RawSet>,
}

/// A SET OF whose elements are kept as their DER encodings.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawSet(pub Vec<Vec<u8>>);

impl der::FixedTag for RawSet {
    const TAG: der::Tag = der::Tag::Set;
}

impl<'a> der::DecodeValue<'a> for RawSet {
    fn decode_value<R: der::Reader<'a>>(reader: &mut R, header: der::Header) -> der::Result<Self> {
        let body = reader.read_slice(header.length)?;
        let mut items = Vec::new();
        let mut rest: &[u8] = body;
        while !rest.is_empty() {
            let mut r = der::SliceReader::new(rest)?;
            let h = der::Header::decode(&mut r)?;
            let total = (h.encoded_len()? + h.length)?;
            let total = usize::try_from(total)?;
            let (item, tail) = rest.split_at_checked(total).ok_or_else(|| {
                der::Error::incomplete(der::Length::try_from(rest.len()).unwrap_or_default())
            })?;
            items.push(item.to_vec());
            rest = tail;
        }
        Ok(RawSet(items))
    }
}

impl der::EncodeValue for RawSet {
    fn value_len(&self) -> der::Result<der::Length> {
        self.0.iter().try_fold(der::Length::ZERO, |acc, i| {
            acc + der::Length::try_from(i.len())?
        })
    }

    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.0.iter().try_for_each(|i| writer.write(i))
    }
}

impl RawSet {
    /// The set as a DER `SET` in the order it came, and, when that is not
    /// DER's order, sorted as DER would have it.
    fn encodings(&self) -> Vec<Vec<u8>> {
        let encode = |items: &[&Vec<u8>]| {
            let len: usize = items.iter().map(|i| i.len()).sum();
            let mut out = vec![0x31];
            push_len(&mut out, len);
            for i in items {
                out.extend_from_slice(i);
            }
            out
        };
        let sent: Vec<&Vec<u8>> = self.0.iter().collect();
        let mut sorted = sent.clone();
        sorted.sort();
        let mut out = vec![encode(&sent)];
        if sorted != sent {
            out.push(encode(&sorted));
        }
        out
    }
}

/// Parses the ContentInfo at the start of `bytes`, DER or BER (trailing
/// zero padding, as in a PDF's /Contents, is ignored). Certificates come
/// from `cache` when it has seen them.
///
/// Most producers send DER, so the bytes are read as they are first; they
/// are converted from BER only when that reading fails or when a part it
/// keeps opaque (a signed attribute, a certificate that does not parse) is
/// not DER.
pub(crate) fn parse(bytes: &[u8], cache: &CertCache) -> Result<Parsed, &'static str> {
    if bytes.is_empty() {
        return Err("empty CMS");
    }
    let why = match parse_der(bytes, cache) {
        Ok(Some(parsed)) => return Ok(parsed),
        Ok(None) => "malformed CMS",
        Err(why) => why,
    };
    let converted = crate::ber::to_der(bytes).ok_or(why)?;
    if bytes.starts_with(&converted) {
        // DER already: converting changes nothing, and the error stands.
        return Err(why);
    }
    let mut parsed = parse_der(&converted, cache)?.ok_or("malformed CMS")?;
    parsed.ber = true;
    Ok(parsed)
}

/// [`parse`] on bytes taken as DER; `Ok(None)` when they decode but a part
/// kept opaque is BER.
fn parse_der(der_bytes: &[u8], cache: &CertCache) -> Result<Option<Parsed>, &'static str> {
    let mut reader = der::SliceReader::new(der_bytes).map_err(|_| "empty CMS")?;
    let ci: ContentInfoRef<'_> = der::Decode::decode(&mut reader).map_err(|_| "malformed CMS")?;
    if ci.content_type != oid::SIGNED_DATA {
        return Err("CMS is not SignedData");
    }
    let signed_data: SignedDataLite = ci.content.decode_as().map_err(|_| "malformed SignedData")?;
    let mut certs = Vec::new();
    // Other certificate choices carry context tags; only plain X.509
    // certificates (a SEQUENCE) can name a signer.
    for der in signed_data
        .certificates
        .iter()
        .flat_map(|c| c.0.iter())
        .filter(|der| der.first() == Some(&0x30))
    {
        match cache.parse(der) {
            Ok(cert) => certs.push(cert),
            Err(_) if !crate::ber::is_der(der) => return Ok(None),
            Err(_) => {}
        }
    }
    let signers = signed_data
        .signer_infos
        .0
        .iter()
        .map(|d| SignerInfoLite::from_der(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "malformed SignerInfo")?;
    let mut attributes = Vec::with_capacity(signers.len());
    for si in &signers {
        // A signed attribute's value is opaque to its decoding, so BER
        // deep inside one would go unseen: each signed attribute (small) is
        // walked. An unsigned one is a time-stamp token, parsed (and
        // converted) on its own.
        let decode = |set: &Option<RawSet>, signed: bool| {
            let mut out = Vec::new();
            for raw in set.iter().flat_map(|set| &set.0) {
                if signed && !crate::ber::is_der(raw) {
                    return None;
                }
                match Attribute::from_der(raw) {
                    Ok(a) => out.push(Some(a)),
                    Err(_) if !signed && !crate::ber::is_der(raw) => return None,
                    Err(_) => out.push(None),
                }
            }
            Some(out)
        };
        let (Some(signed), Some(unsigned)) = (
            decode(&si.signed_attrs, true),
            decode(&si.unsigned_attrs, false),
        ) else {
            return Ok(None);
        };
        attributes.push(Attributes { signed, unsigned });
    }
    let econtent = match &signed_data.encap_content_info.econtent {
        None => None,
        Some(any) => Some(
            any.decode_as::<OctetString>()
                .map_err(|_| "malformed encapsulated content")?
                .as_bytes()
                .to_vec(),
        ),
    };
    Ok(Some(Parsed {
        econtent_type: signed_data.encap_content_info.econtent_type,
        econtent,
        certs,
        signers,
        attributes,
        ber: false,
    }))
}

/// What checking one SignerInfo found.
#[derive(Debug)]
pub(crate) struct Checked {
    pub signer: Option<Certificate>,
    pub digest_alg: Option<DigestAlg>,
    /// What the algorithm policy judges: the weaker digest binding the
    /// content to the signature (the value's or the content's) and the
    /// signer's key; `None` without a signer.
    pub algorithms: Option<(Option<DigestAlg>, KeyKind)>,
    /// The message digest matches the content.
    pub digest_ok: bool,
    /// The signature value verifies with the signer's key.
    pub signature_ok: bool,
    /// Why the signature value could not be checked at all (an algorithm
    /// this verifier does not know): no verdict either way.
    pub unsupported: Option<&'static str>,
    /// `Some(false)` when an ESS signing-certificate attribute names
    /// another certificate.
    pub ess_ok: Option<bool>,
    pub signing_time: Option<UnixTime>,
    pub signature_value: Vec<u8>,
    /// Every signature time-stamp token, unchecked.
    pub timestamp_tokens: Vec<Vec<u8>>,
    /// The signature covers the content directly (no signed attributes).
    pub without_attributes: bool,
    /// The signed attributes verified only in DER's order, not as sent.
    pub resorted: bool,
    /// What the standard forbids here (FORMAT_FAILURE).
    pub problem: Option<&'static str>,
}

impl Parsed {
    /// Checks every signer over the content given in `content` (its parts,
    /// in order). The first signer is the one a report names.
    pub fn check(&self, content: &[&[u8]]) -> Vec<Checked> {
        if self.signers.is_empty() {
            return vec![Checked::empty(Some("no signer"))];
        }
        self.signers
            .iter()
            .zip(&self.attributes)
            .map(|(si, attrs)| self.check_one(si, attrs, content))
            .collect()
    }

    fn check_one(&self, si: &SignerInfoLite, decoded: &Attributes, content: &[&[u8]]) -> Checked {
        let mut out = Checked::empty(None);
        out.signature_value = si.signature.as_bytes().to_vec();
        out.signer = self.find_signer(&si.sid);
        // EdDSA signers name SHA-512 or SHAKE256 as their digest (RFC 8419).
        let digest_alg = DigestAlg::from_oid(&si.digest_alg.oid);
        out.digest_alg = digest_alg;
        out.algorithms = out.signer.as_ref().map(|signer| {
            let digest = DigestAlg::weaker(
                signature_digest(&si.signature_algorithm, digest_alg),
                digest_alg,
            );
            (digest, key_kind(signer.spki()))
        });

        for a in decoded.unsigned.iter().flatten() {
            if a.oid == oid::SIGNATURE_TIME_STAMP {
                out.timestamp_tokens
                    .extend(a.values.iter().filter_map(|v| v.to_der().ok()));
            }
        }

        let Some(attrs) = &si.signed_attrs else {
            // The signature is over the content itself.
            out.without_attributes = true;
            out.digest_ok = true;
            if self.econtent_type != oid::DATA {
                out.problem = Some("signed attributes are missing");
            }
            if let Some(signer) = &out.signer {
                let whole = content.concat();
                match verify_signature(
                    signer.spki(),
                    &si.signature_algorithm,
                    digest_alg,
                    &whole,
                    si.signature.as_bytes(),
                ) {
                    Ok(()) => out.signature_ok = true,
                    Err(BadSignature::Invalid) => {}
                    Err(BadSignature::Unsupported(what)) => out.unsupported = Some(what),
                }
            }
            return out;
        };

        let mut md = None;
        let mut ct = None;
        let mut seen = Vec::new();
        for a in &decoded.signed {
            let Some(a) = a else {
                out.problem = Some("a signed attribute is malformed");
                return out;
            };
            // RFC 5652 §11 and RFC 5035: these must appear once.
            let single = matches!(
                a.oid,
                oid::CONTENT_TYPE
                    | oid::MESSAGE_DIGEST
                    | oid::SIGNING_TIME
                    | oid::SIGNING_CERTIFICATE
                    | oid::SIGNING_CERTIFICATE_V2
            );
            if single && seen.contains(&a.oid) {
                out.problem = Some("a signed attribute that must appear once appears twice");
            }
            seen.push(a.oid);
            let v = a.values.iter().next();
            match a.oid {
                oid::MESSAGE_DIGEST => {
                    md = v.and_then(|v| v.decode_as::<OctetString>().ok());
                }
                oid::CONTENT_TYPE => {
                    ct = v.and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
                }
                oid::SIGNING_TIME => {
                    out.signing_time = v
                        .and_then(|v| v.to_der().ok())
                        .and_then(|d| x509_cert::time::Time::from_der(&d).ok())
                        .map(UnixTime::from_x509);
                }
                oid::SIGNING_CERTIFICATE_V2 => {
                    let ess = v.and_then(|v| v.decode_as::<SigningCertificateV2>().ok());
                    out.ess_ok = Some(match (ess, &out.signer) {
                        (Some(ess), Some(signer)) => ess.certs.first().is_some_and(|id| {
                            let alg = id
                                .hash_algorithm
                                .as_ref()
                                .map_or(Some(DigestAlg::Sha256), |a| DigestAlg::from_oid(&a.oid));
                            alg.is_some_and(|alg| match alg {
                                DigestAlg::Sha256 => signer.sha256() == id.cert_hash.as_bytes(),
                                _ => alg.digest(&[signer.der()]) == id.cert_hash.as_bytes(),
                            }) && id
                                .issuer_serial
                                .as_ref()
                                .is_none_or(|is| names_certificate(is, signer))
                        }),
                        _ => false,
                    });
                }
                oid::SIGNING_CERTIFICATE => {
                    let ess = v.and_then(|v| v.decode_as::<SigningCertificateV1>().ok());
                    out.ess_ok = Some(match (ess, &out.signer) {
                        (Some(ess), Some(signer)) => ess.certs.first().is_some_and(|id| {
                            DigestAlg::Sha1.digest(&[signer.der()]) == id.cert_hash.as_bytes()
                                && id
                                    .issuer_serial
                                    .as_ref()
                                    .is_none_or(|is| names_certificate(is, signer))
                        }),
                        _ => false,
                    });
                }
                _ => {}
            }
        }
        if ct != Some(self.econtent_type) {
            out.problem = Some("content-type attribute missing or wrong");
        }
        // Ed448 names SHAKE256, which is not computed here: its verdict is
        // the signature's (unsupported).
        let Some(digest_for_content) = digest_alg else {
            out.unsupported = Some("this digest algorithm");
            return out;
        };
        out.digest_ok = md.is_some_and(|md| md.as_bytes() == digest_for_content.digest(content));
        if let Some(signer) = &out.signer {
            // As sent first; then in DER's order, for signers that sorted
            // only when signing.
            for (i, msg) in attrs.encodings().iter().enumerate() {
                match verify_signature(
                    signer.spki(),
                    &si.signature_algorithm,
                    digest_alg,
                    msg,
                    si.signature.as_bytes(),
                ) {
                    Ok(()) => {
                        out.signature_ok = true;
                        out.resorted = i > 0;
                        break;
                    }
                    Err(BadSignature::Invalid) => {}
                    Err(BadSignature::Unsupported(what)) => {
                        out.unsupported = Some(what);
                        break;
                    }
                }
            }
        }
        out
    }

    fn find_signer(&self, sid: &SignerIdentifier) -> Option<Certificate> {
        self.certs
            .iter()
            .find(|c| match sid {
                SignerIdentifier::IssuerAndSerialNumber(isn) => {
                    c.x509().tbs_certificate.issuer == isn.issuer
                        && c.x509().tbs_certificate.serial_number == isn.serial_number
                }
                SignerIdentifier::SubjectKeyIdentifier(ski) => c
                    .x509()
                    .tbs_certificate
                    .extensions
                    .iter()
                    .flatten()
                    .find(|e| e.extn_id == oid::SUBJECT_KEY_ID)
                    .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok())
                    .is_some_and(|k| k.as_bytes() == ski.0.as_bytes()),
            })
            .cloned()
    }

    /// The signature time-stamp token of the first signer, unchecked.
    pub fn timestamp_token(&self) -> Option<Vec<u8>> {
        self.attributes
            .first()?
            .unsigned
            .iter()
            .flatten()
            .find(|a| a.oid == oid::SIGNATURE_TIME_STAMP)
            .and_then(|a| a.values.iter().next().and_then(|v| v.to_der().ok()))
    }
}

impl Checked {
    fn empty(problem: Option<&'static str>) -> Checked {
        Checked {
            signer: None,
            digest_alg: None,
            algorithms: None,
            digest_ok: false,
            signature_ok: false,
            unsupported: None,
            ess_ok: None,
            signing_time: None,
            signature_value: Vec::new(),
            timestamp_tokens: Vec::new(),
            without_attributes: false,
            resorted: false,
            problem,
        }
    }
}

/// An ESS IssuerSerial names `cert`: its serial, and its issuer among
/// the general names.
fn names_certificate(is: &IssuerSerial, cert: &Certificate) -> bool {
    let tbs = &cert.x509().tbs_certificate;
    is.serial_number == tbs.serial_number
        && is
            .issuer
            .iter()
            .any(|n| matches!(n, GeneralName::DirectoryName(name) if *name == tbs.issuer))
}

/// A signature time-stamp attribute carrying `token` (a DER ContentInfo).
pub(crate) fn timestamp_attribute(token: &[u8]) -> Result<Attribute, Error> {
    let value = Any::from_der(token).map_err(Error::from_der)?;
    attribute(oid::SIGNATURE_TIME_STAMP, value)
}
