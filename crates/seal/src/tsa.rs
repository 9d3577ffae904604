//! RFC 3161 time-stamps: the [`TimeStamper`] seam, a local time-stamping
//! authority, and the request/response encoding an HTTP TSA speaks.

use cmpv2::status::{PkiStatus, PkiStatusInfo};
use der::asn1::{Int, OctetString};
use der::{Any, Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::cms::{self, SignRequest};
use crate::crypto::{sha256, CertCache, Certificate, DigestAlg, SigningKey, UnixTime};
use crate::{oid, Error};

/// Anything that turns a SHA-256 digest into an RFC 3161 time-stamp token
/// (a DER `ContentInfo`): the local TSA, or a client of a remote one.
pub trait TimeStamper: Sync {
    fn timestamp(&self, sha256_digest: &[u8; 32]) -> Result<Vec<u8>, Error>;
}

/// A time-stamping authority in this process: it signs tokens with its
/// own key at the time its clock function says.
pub struct LocalTsa {
    key: SigningKey,
    chain: Vec<Certificate>,
    clock: Box<dyn Fn() -> UnixTime + Send + Sync>,
}

impl std::fmt::Debug for LocalTsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTsa")
            .field("chain", &self.chain)
            .finish()
    }
}

impl LocalTsa {
    /// `chain`: the TSA certificate first (its key is `key`), then its issuers.
    /// `clock` gives the time to put in each token.
    pub fn new(
        key: SigningKey,
        chain: Vec<Certificate>,
        clock: impl Fn() -> UnixTime + Send + Sync + 'static,
    ) -> Result<LocalTsa, Error> {
        let cert = chain
            .first()
            .ok_or(Error::BadCertificate("TSA chain is empty"))?;
        let eku = cert.extended_key_usage().unwrap_or_default();
        if !eku.contains(&oid::KP_TIME_STAMPING) {
            return Err(Error::BadCertificate(
                "TSA certificate lacks the timeStamping key purpose",
            ));
        }
        Ok(LocalTsa {
            key,
            chain,
            clock: Box::new(clock),
        })
    }

    /// Signs a token over `imprint` (a SHA-256 digest).
    pub fn token(&self, imprint: &[u8], nonce: Option<Int>) -> Result<Vec<u8>, Error> {
        let now = (self.clock)();
        let mut serial = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
            .map_err(|_| Error::BadKey("no randomness for the serial number"))?;
        // Positive, with no leading zero byte: a DER INTEGER as is.
        serial[0] = (serial[0] & 0x7f) | 0x40;
        let info = TstInfo {
            version: TspVersion::V1,
            policy: oid::COFFRE_TSA_POLICY,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid: oid::SHA256,
                    parameters: None,
                },
                hashed_message: OctetString::new(imprint.to_vec()).map_err(Error::from_der)?,
            },
            serial_number: Int::new(&serial).map_err(Error::from_der)?,
            gen_time: now.to_generalized()?,
            accuracy: None,
            ordering: false,
            nonce,
            tsa: None,
            extensions: None,
        };
        let der = info.to_der().map_err(Error::from_der)?;
        cms::sign(
            &SignRequest {
                key: &self.key,
                chain: &self.chain,
                content_type: oid::TST_INFO,
                econtent: Some(&der),
                digest: &sha256(&der),
            },
            &mut |_| Ok(Vec::new()),
        )
    }

    /// Answers a DER `TimeStampReq` with a DER `TimeStampResp`; a request
    /// that cannot be honoured gets a rejection response, not an error.
    pub fn respond(&self, request: &[u8]) -> Vec<u8> {
        let reject = |text: &str| {
            let resp = TimeStampResp {
                status: PkiStatusInfo {
                    status: PkiStatus::Rejection,
                    status_string: None,
                    fail_info: None,
                },
                time_stamp_token: None,
            };
            let _ = text;
            resp.to_der().unwrap_or_default()
        };
        let Ok(req) = TimeStampReq::from_der(request) else {
            return reject("malformed request");
        };
        if req.message_imprint.hash_algorithm.oid != oid::SHA256
            || req.message_imprint.hashed_message.as_bytes().len() != 32
        {
            return reject("only SHA-256 imprints are accepted");
        }
        let Ok(token) = self.token(req.message_imprint.hashed_message.as_bytes(), req.nonce) else {
            return reject("signing failed");
        };
        let Ok(token) = cms_content_info(&token) else {
            return reject("internal encoding");
        };
        let resp = TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token),
        };
        resp.to_der().unwrap_or_default()
    }
}

impl TimeStamper for LocalTsa {
    fn timestamp(&self, sha256_digest: &[u8; 32]) -> Result<Vec<u8>, Error> {
        self.token(sha256_digest, None)
    }
}

fn cms_content_info(der: &[u8]) -> Result<::cms::content_info::ContentInfo, Error> {
    ::cms::content_info::ContentInfo::from_der(der).map_err(Error::from_der)
}

/// A DER `TimeStampReq` for a SHA-256 digest, asking for the TSA's
/// certificate, with a nonce.
pub fn request(sha256_digest: &[u8; 32], nonce: u64) -> Result<Vec<u8>, Error> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: oid::SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(sha256_digest.to_vec()).map_err(Error::from_der)?,
        },
        req_policy: None,
        nonce: Some(Int::new(&minimal_be(nonce)).map_err(Error::from_der)?),
        cert_req: true,
        extensions: None,
    };
    req.to_der().map_err(Error::from_der)
}

/// The big-endian bytes of `n` as a DER INTEGER holds them: no leading
/// zero byte unless the next byte's high bit needs one.
fn minimal_be(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut out = bytes[skip..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}

/// The token inside a DER `TimeStampResp`, after checking that it was
/// granted and that it stamps `sha256_digest`.
pub fn token_from_response(response: &[u8], sha256_digest: &[u8; 32]) -> Result<Vec<u8>, Error> {
    let resp = TimeStampResp::from_der(response)
        .map_err(|_| Error::Tsa("malformed time-stamp response".into()))?;
    if !matches!(
        resp.status.status,
        PkiStatus::Accepted | PkiStatus::GrantedWithMods
    ) {
        return Err(Error::Tsa(format!(
            "time-stamp refused ({:?})",
            resp.status.status
        )));
    }
    let token = resp
        .time_stamp_token
        .ok_or(Error::Tsa("time-stamp response without a token".into()))?
        .to_der()
        .map_err(Error::from_der)?;
    let cache = CertCache::default();
    let stamp = check_token(
        &token,
        &|alg| {
            if alg == DigestAlg::Sha256 {
                sha256_digest.to_vec()
            } else {
                Vec::new()
            }
        },
        &cache,
    );
    match stamp {
        Ok(s) if s.imprint_ok && s.checked.signature_ok && s.checked.digest_ok => Ok(token),
        Ok(_) => Err(Error::Tsa(
            "time-stamp token does not match the request".into(),
        )),
        Err(e) => Err(Error::Tsa(e.into())),
    }
}

/// A checked time-stamp token.
#[derive(Debug)]
pub(crate) struct Stamp {
    pub gen_time: UnixTime,
    /// The token's message imprint is the digest of what it claims to stamp.
    pub imprint_ok: bool,
    pub checked: cms::Checked,
    pub certs: Vec<Certificate>,
}

/// Parses and cryptographically checks a token; `digest` computes the
/// digest of the stamped data under the imprint's algorithm.
pub(crate) fn check_token(
    token: &[u8],
    digest: &dyn Fn(DigestAlg) -> Vec<u8>,
    cache: &CertCache,
) -> Result<Stamp, &'static str> {
    let parsed = cms::parse(token, cache)?;
    if parsed.econtent_type != oid::TST_INFO {
        return Err("time-stamp token does not carry TSTInfo");
    }
    let content = parsed
        .econtent
        .clone()
        .ok_or("time-stamp token without content")?;
    let info = parse_tst_info(&content).ok_or("malformed TSTInfo")?;
    let imprint_alg = DigestAlg::from_oid(&info.message_imprint.hash_algorithm.oid)
        .ok_or("unsupported time-stamp imprint algorithm")?;
    let imprint_ok = digest(imprint_alg) == info.message_imprint.hashed_message.as_bytes();
    let mut checked = parsed
        .check(&[&content])
        .into_iter()
        .next()
        .ok_or("time-stamp token without a signer")?;
    // The policy judges the weaker of the token's own digest and the one
    // it stamps with.
    checked.algorithms = checked
        .algorithms
        .map(|(digest, key)| (DigestAlg::weaker(digest, Some(imprint_alg)), key));
    Ok(Stamp {
        gen_time: info.gen_time,
        imprint_ok,
        checked,
        certs: parsed.certs,
    })
}

/// The parts of a TSTInfo validation needs.
struct TstParts {
    message_imprint: MessageImprint,
    gen_time: UnixTime,
}

/// Reads a TSTInfo up to its genTime. RFC 3161 allows fractional seconds
/// there, which strict DER GeneralizedTime does not, so genTime is read
/// by hand; the fields after it are skipped.
fn parse_tst_info(der: &[u8]) -> Option<TstParts> {
    use der::Reader;
    let mut reader = der::SliceReader::new(der).ok()?;
    reader
        .sequence(|seq| {
            let _version: Int = seq.decode()?;
            let _policy: const_oid::ObjectIdentifier = seq.decode()?;
            let message_imprint: MessageImprint = seq.decode()?;
            let _serial: Int = seq.decode()?;
            let gen_time: Any = seq.decode()?;
            let rest = seq.remaining_len();
            seq.read_slice(rest)?;
            Ok((message_imprint, gen_time))
        })
        .ok()
        .and_then(|(message_imprint, gen_time)| {
            if der::Tagged::tag(&gen_time) != der::Tag::GeneralizedTime {
                return None;
            }
            Some(TstParts {
                message_imprint,
                gen_time: generalized_time(gen_time.value())?,
            })
        })
}

/// `YYYYMMDDHHMMSS[.f…]Z`, fractions dropped.
fn generalized_time(v: &[u8]) -> Option<UnixTime> {
    let digits = v.get(..14)?;
    let rest = &v[14..];
    let rest = match rest.first() {
        Some(b'.') | Some(b',') => {
            let n = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            &rest[1 + n..]
        }
        _ => rest,
    };
    if rest != b"Z" {
        return None;
    }
    let mut date = b"D:".to_vec();
    date.extend_from_slice(digits);
    date.push(b'Z');
    UnixTime::from_pdf_date(&date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_parses_back() {
        let pki = crate::pki::DemoPki::generate("T", crate::UnixTime(1_800_000_000)).unwrap();
        let tsa = LocalTsa::new(
            SigningKey::from_pkcs8(pki.tsa_key.pkcs8_der()).unwrap(),
            pki.tsa_chain(),
            || crate::UnixTime(1_800_000_000),
        )
        .unwrap();
        // A serial number with a leading zero byte once made 1 token in 128 unreadable.
        for i in 0..600u32 {
            let digest = crate::sha256(&i.to_be_bytes());
            let token = tsa.timestamp(&digest).unwrap();
            let stamp = check_token(&token, &|_| digest.to_vec(), &CertCache::default()).unwrap();
            assert!(stamp.imprint_ok && stamp.checked.signature_ok, "token {i}");
        }
    }

    #[test]
    fn nonces_encode_as_minimal_integers() {
        assert_eq!(minimal_be(0), [0]);
        assert_eq!(minimal_be(42), [42]);
        assert_eq!(minimal_be(0x80), [0, 0x80]);
        assert_eq!(
            minimal_be(u64::MAX),
            [0, 255, 255, 255, 255, 255, 255, 255, 255]
        );
        for n in [0, 1, 42, 0x80, 0x1234, u64::MAX] {
            let req = request(&[7; 32], n).unwrap();
            assert!(TimeStampReq::from_der(&req).is_ok(), "nonce {n}");
        }
    }
}
