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

use crate::crypto::{verify_signature, CertCache, Certificate, DigestAlg, SigningKey, UnixTime};
use crate::{oid, Error};

/// ESS SigningCertificateV2 (RFC 5035).
#[derive(Clone, Debug, der::Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
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

/// A parsed SignedData with one signer.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub signed_data: SignedDataLite,
    pub certs: Vec<Certificate>,
}

/// SignedData with its certificates kept as DER, so that a validator can
/// reuse certificates it has already parsed.
#[derive(Debug, der::Sequence)]
pub(crate) struct SignedDataLite {
    pub version: CmsVersion,
    pub digest_algorithms: SetOfVec<AlgorithmIdentifierOwned>,
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
    pub signer_infos: SignerInfos,
}

/// A SET OF whose elements are kept as their DER encodings.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawSet(pub Vec<Vec<u8>>);

impl der::FixedTag for RawSet {
    const TAG: der::Tag = der::Tag::Set;
}

impl<'a> der::DecodeValue<'a> for RawSet {
    fn decode_value<R: der::Reader<'a>>(reader: &mut R, header: der::Header) -> der::Result<Self> {
        let body = reader.read_vec(header.length)?;
        let mut items = Vec::new();
        let mut rest: &[u8] = &body;
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

/// Parses the DER ContentInfo at the start of `bytes` (trailing zero
/// padding, as in a PDF's /Contents, is ignored). Certificates come from
/// `cache` when it has seen them.
pub(crate) fn parse(bytes: &[u8], cache: &CertCache) -> Result<Parsed, &'static str> {
    let mut reader = der::SliceReader::new(bytes).map_err(|_| "empty CMS")?;
    let ci: ContentInfo = der::Decode::decode(&mut reader).map_err(|_| "malformed CMS")?;
    if ci.content_type != oid::SIGNED_DATA {
        return Err("CMS is not SignedData");
    }
    let signed_data: SignedDataLite = ci.content.decode_as().map_err(|_| "malformed SignedData")?;
    let certs = signed_data
        .certificates
        .iter()
        .flat_map(|c| c.0.iter())
        // Other certificate choices carry context tags; only plain X.509
        // certificates (a SEQUENCE) can name a signer.
        .filter(|der| der.first() == Some(&0x30))
        .filter_map(|der| cache.parse(der).ok())
        .collect();
    Ok(Parsed { signed_data, certs })
}

/// What checking one SignerInfo found.
#[derive(Debug)]
pub(crate) struct Checked {
    pub signer: Option<Certificate>,
    pub digest_alg: Option<DigestAlg>,
    /// The message digest matches the content.
    pub digest_ok: bool,
    /// The signature value verifies with the signer's key.
    pub signature_ok: bool,
    /// `Some(false)` when an ESS signing-certificate attribute names
    /// another certificate.
    pub ess_ok: Option<bool>,
    pub signing_time: Option<UnixTime>,
    pub signature_value: Vec<u8>,
    pub timestamp_token: Option<Vec<u8>>,
    pub problem: Option<&'static str>,
}

impl Parsed {
    /// Checks the (single) signer. `content_digest` gives the digest of the
    /// signed content under the signer's digest algorithm.
    pub fn check(&self, content_digest: &dyn Fn(DigestAlg) -> Vec<u8>) -> Checked {
        let mut out = Checked {
            signer: None,
            digest_alg: None,
            digest_ok: false,
            signature_ok: false,
            ess_ok: None,
            signing_time: None,
            signature_value: Vec::new(),
            timestamp_token: None,
            problem: None,
        };
        let infos = &self.signed_data.signer_infos.0;
        let Some(si) = infos.iter().next() else {
            out.problem = Some("no signer");
            return out;
        };
        if infos.len() != 1 {
            out.problem = Some("more than one signer");
            return out;
        }
        out.signature_value = si.signature.as_bytes().to_vec();
        out.signer = self.find_signer(&si.sid);
        let Some(digest_alg) = DigestAlg::from_oid(&si.digest_alg.oid) else {
            out.problem = Some("unsupported digest algorithm");
            return out;
        };
        out.digest_alg = Some(digest_alg);
        let content_hash = content_digest(digest_alg);

        for a in si.unsigned_attrs.iter().flat_map(|s| s.iter()) {
            if a.oid == oid::SIGNATURE_TIME_STAMP {
                out.timestamp_token = a.values.iter().next().and_then(|v| v.to_der().ok());
            }
        }

        let signed_bytes;
        let msg: &[u8] = match &si.signed_attrs {
            Some(attrs) => {
                let mut md = None;
                let mut ct = None;
                for a in attrs.iter() {
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
                                        .map_or(Some(DigestAlg::Sha256), |a| {
                                            DigestAlg::from_oid(&a.oid)
                                        });
                                    alg.is_some_and(|alg| {
                                        alg.digest(&[signer.der()]) == id.cert_hash.as_bytes()
                                    })
                                }),
                                _ => false,
                            });
                        }
                        oid::SIGNING_CERTIFICATE => {
                            let ess = v.and_then(|v| v.decode_as::<SigningCertificateV1>().ok());
                            out.ess_ok = Some(match (ess, &out.signer) {
                                (Some(ess), Some(signer)) => ess.certs.first().is_some_and(|id| {
                                    DigestAlg::Sha1.digest(&[signer.der()])
                                        == id.cert_hash.as_bytes()
                                }),
                                _ => false,
                            });
                        }
                        _ => {}
                    }
                }
                if ct != Some(self.signed_data.encap_content_info.econtent_type) {
                    out.problem = Some("content-type attribute missing or wrong");
                }
                out.digest_ok = md.is_some_and(|md| md.as_bytes() == content_hash.as_slice());
                let Ok(bytes) = attrs.to_der() else {
                    out.problem = Some("signed attributes do not encode");
                    return out;
                };
                signed_bytes = bytes;
                &signed_bytes
            }
            None => {
                // Without signed attributes the signature covers the digest
                // input directly; only possible when we hold the content's
                // digest, so treat the digest as the check.
                out.digest_ok = true;
                out.problem = Some("no signed attributes");
                return out;
            }
        };
        if let Some(signer) = &out.signer {
            out.signature_ok = verify_signature(
                signer.spki(),
                &si.signature_algorithm,
                Some(digest_alg),
                msg,
                si.signature.as_bytes(),
            )
            .is_ok();
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

    /// The signature time-stamp token of the (first) signer, unchecked.
    pub fn timestamp_token(&self) -> Option<Vec<u8>> {
        let si = self.signed_data.signer_infos.0.iter().next()?;
        si.unsigned_attrs
            .iter()
            .flat_map(|s| s.iter())
            .find(|a| a.oid == oid::SIGNATURE_TIME_STAMP)
            .and_then(|a| a.values.iter().next())
            .and_then(|v| v.to_der().ok())
    }

    /// The encapsulated content, if any.
    pub fn econtent(&self) -> Option<Vec<u8>> {
        let any = self.signed_data.encap_content_info.econtent.as_ref()?;
        any.decode_as::<OctetString>()
            .ok()
            .map(|o| o.as_bytes().to_vec())
    }
}

/// A signature time-stamp attribute carrying `token` (a DER ContentInfo).
pub(crate) fn timestamp_attribute(token: &[u8]) -> Result<Attribute, Error> {
    let value = Any::from_der(token).map_err(Error::from_der)?;
    attribute(oid::SIGNATURE_TIME_STAMP, value)
}
