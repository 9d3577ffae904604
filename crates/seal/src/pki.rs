//! Issuing certificates and CRLs: the operator's seal CA and TSA, and the
//! test and demo PKIs. Signing keys are ECDSA P-256.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension, DnType,
    IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;

use crate::crypto::{Certificate, Crl, SigningKey, UnixTime};
use crate::Error;

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Root,
    Intermediate,
    /// An organisation's seal (document signing).
    Seal,
    /// A time-stamping authority (RFC 3161).
    TimeStamping,
    /// The operator's key that signs the attestations printed on copies.
    Attestation,
}

/// The subject and validity of a certificate to issue.
#[derive(Clone, Debug)]
pub struct CertSpec {
    pub role: Role,
    pub common_name: String,
    pub organization: String,
    pub not_before: UnixTime,
    pub not_after: UnixTime,
}

/// A self-signed root certificate for `key`.
pub fn self_signed(key: &SigningKey, spec: &CertSpec) -> Result<Certificate, Error> {
    let pair = rcgen_key(key)?;
    let cert = params(spec)?.self_signed(&pair).map_err(rcgen_err)?;
    Certificate::from_der(cert.der())
}

/// A certificate for `subject`'s public key, signed by `issuer`.
pub fn issue(
    issuer_cert: &Certificate,
    issuer_key: &SigningKey,
    subject: &SigningKey,
    spec: &CertSpec,
) -> Result<Certificate, Error> {
    let issuer =
        Issuer::from_ca_cert_der(&issuer_cert.der().to_vec().into(), rcgen_key(issuer_key)?)
            .map_err(rcgen_err)?;
    let cert = params(spec)?
        .signed_by(&rcgen_key(subject)?, &issuer)
        .map_err(rcgen_err)?;
    Certificate::from_der(cert.der())
}

/// A CRL from `issuer` listing `revoked` certificates with their
/// revocation times.
pub fn crl(
    issuer_cert: &Certificate,
    issuer_key: &SigningKey,
    revoked: &[(&Certificate, UnixTime)],
    this_update: UnixTime,
    next_update: UnixTime,
    number: u64,
) -> Result<Crl, Error> {
    let issuer =
        Issuer::from_ca_cert_der(&issuer_cert.der().to_vec().into(), rcgen_key(issuer_key)?)
            .map_err(rcgen_err)?;
    let params = CertificateRevocationListParams {
        this_update: odt(this_update)?,
        next_update: odt(next_update)?,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|(c, at)| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(
                        c.x509().tbs_certificate.serial_number.as_bytes(),
                    ),
                    revocation_time: odt(*at)?,
                    reason_code: None,
                    invalidity_date: None,
                })
            })
            .collect::<Result<_, Error>>()?,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let list = params.signed_by(&issuer).map_err(rcgen_err)?;
    Crl::from_der(list.der())
}

/// A complete PKI for demos and tests: root → intermediate → seal and TSA
/// certificates, and an empty CRL from each CA.
#[derive(Debug)]
pub struct DemoPki {
    pub root_key: SigningKey,
    pub root: Certificate,
    pub intermediate_key: SigningKey,
    pub intermediate: Certificate,
    pub seal_key: SigningKey,
    pub seal: Certificate,
    pub tsa_key: SigningKey,
    pub tsa: Certificate,
    /// From the intermediate (covers the seal and TSA certificates).
    pub crl: Crl,
    /// From the root (covers the intermediate).
    pub root_crl: Crl,
}

impl DemoPki {
    /// `organisation` names the seal's owner; `now` anchors validity
    /// (certificates start a day before).
    pub fn generate(organisation: &str, now: UnixTime) -> Result<DemoPki, Error> {
        const DAY: i64 = 86_400;
        let spec = |role, cn: &str, org: &str, years: i64| CertSpec {
            role,
            common_name: cn.to_owned(),
            organization: org.to_owned(),
            not_before: UnixTime(now.0 - DAY),
            not_after: UnixTime(now.0 + years * 365 * DAY),
        };
        let operator = "Coffre Demo Operator";
        let root_key = SigningKey::generate()?;
        let root = self_signed(
            &root_key,
            &spec(Role::Root, "Coffre Demo Root CA", operator, 20),
        )?;
        let intermediate_key = SigningKey::generate()?;
        let intermediate = issue(
            &root,
            &root_key,
            &intermediate_key,
            &spec(Role::Intermediate, "Coffre Demo Seal CA", operator, 10),
        )?;
        let seal_key = SigningKey::generate()?;
        let seal = issue(
            &intermediate,
            &intermediate_key,
            &seal_key,
            &spec(Role::Seal, &format!("{organisation} Seal"), organisation, 3),
        )?;
        let tsa_key = SigningKey::generate()?;
        let tsa = issue(
            &intermediate,
            &intermediate_key,
            &tsa_key,
            &spec(
                Role::TimeStamping,
                "Coffre Demo Time-Stamping Authority",
                operator,
                10,
            ),
        )?;
        let (from, until) = (UnixTime(now.0 - 3600), UnixTime(now.0 + 30 * DAY));
        let crl = crl(&intermediate, &intermediate_key, &[], from, until, 1)?;
        let root_crl = crl_of(&root, &root_key, from, until)?;
        Ok(DemoPki {
            root_key,
            root,
            intermediate_key,
            intermediate,
            seal_key,
            seal,
            tsa_key,
            tsa,
            crl,
            root_crl,
        })
    }

    /// The seal chain, seal certificate first, root last.
    pub fn seal_chain(&self) -> Vec<Certificate> {
        vec![
            self.seal.clone(),
            self.intermediate.clone(),
            self.root.clone(),
        ]
    }

    pub fn tsa_chain(&self) -> Vec<Certificate> {
        vec![
            self.tsa.clone(),
            self.intermediate.clone(),
            self.root.clone(),
        ]
    }

    /// A new key with the certificate the operator's copy attestations
    /// are signed under, issued by the seal CA and valid from a day
    /// before `now` for ten years.
    pub fn attestation(&self, now: UnixTime) -> Result<(SigningKey, Certificate), Error> {
        const DAY: i64 = 86_400;
        let key = SigningKey::generate()?;
        let cert = issue(
            &self.intermediate,
            &self.intermediate_key,
            &key,
            &CertSpec {
                role: Role::Attestation,
                common_name: "Coffre Demo Copy Attestation".into(),
                organization: "Coffre Demo Operator".into(),
                not_before: UnixTime(now.0 - DAY),
                not_after: UnixTime(now.0 + 3650 * DAY),
            },
        )?;
        Ok((key, cert))
    }
}

fn crl_of(
    cert: &Certificate,
    key: &SigningKey,
    from: UnixTime,
    until: UnixTime,
) -> Result<Crl, Error> {
    crl(cert, key, &[], from, until, 1)
}

fn params(spec: &CertSpec) -> Result<CertificateParams, Error> {
    let mut p = CertificateParams::default();
    p.not_before = odt(spec.not_before)?;
    p.not_after = odt(spec.not_after)?;
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| Error::BadKey("no randomness for the serial number"))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CountryName, "FR");
    p.distinguished_name
        .push(DnType::OrganizationName, spec.organization.as_str());
    p.distinguished_name
        .push(DnType::CommonName, spec.common_name.as_str());
    p.use_authority_key_identifier_extension = spec.role != Role::Root;
    match spec.role {
        Role::Root | Role::Intermediate => {
            p.is_ca = IsCa::Ca(if spec.role == Role::Root {
                BasicConstraints::Unconstrained
            } else {
                BasicConstraints::Constrained(0)
            });
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Role::Seal => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ];
        }
        Role::Attestation => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        Role::TimeStamping => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            // RFC 3161 §2.3: the only purpose, and critical.
            let mut eku = CustomExtension::from_oid_content(
                &[2, 5, 29, 37],
                vec![
                    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
                ],
            );
            eku.set_criticality(true);
            p.custom_extensions.push(eku);
        }
    }
    Ok(p)
}

fn rcgen_key(key: &SigningKey) -> Result<KeyPair, Error> {
    KeyPair::try_from(key.pkcs8_der()).map_err(|_| Error::BadKey("key not usable for issuing"))
}

fn odt(t: UnixTime) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(t.0).map_err(|_| Error::BadTime(t.0))
}

fn rcgen_err(e: rcgen::Error) -> Error {
    Error::Encoding(e.to_string())
}
