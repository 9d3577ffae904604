//! The algorithm policy: which digests and keys a signature may use, and
//! until when (after ETSI TS 119 312 and the SOG-IS agreed mechanisms, as
//! EU DSS's default policy applies them). A signature whose algorithm is
//! past its sunset holds only if a time-stamp proves it existed before.

use crate::crypto::{DigestAlg, KeyKind, UnixTime};

/// What a rule of the policy is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    /// Signatures whose digest is this one.
    Digest(DigestAlg),
    /// RSA keys with fewer bits.
    RsaUnder(usize),
    /// Elliptic-curve keys with fewer bits.
    EcdsaUnder(usize),
}

/// One rule: signatures it applies to are accepted when made until
/// `until`, never when `until` is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The rule in words: "SHA-1 in signatures".
    pub what: &'static str,
    pub applies: Applies,
    pub until: Option<UnixTime>,
}

/// The dated table every validation uses; [`Default`] is ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlgorithmPolicy {
    pub rules: Vec<Rule>,
}

/// 2009-12-31T23:59:59Z.
const END_OF_2009: UnixTime = UnixTime(1_262_303_999);
/// 2016-12-31T23:59:59Z.
const END_OF_2016: UnixTime = UnixTime(1_483_228_799);
/// 2030-12-31T23:59:59Z.
const END_OF_2030: UnixTime = UnixTime(1_924_991_999);

impl Default for AlgorithmPolicy {
    /// SHA-1 in signatures until the end of 2009, RSA under 1,900 bits
    /// until the end of 2016, RSA under 3,000 bits until the end of 2030;
    /// RSA under 1,024 bits and curves under 256 bits never; SHA-2, ECDSA
    /// on 256 bits and more, Ed25519 and Ed448 without a sunset.
    fn default() -> Self {
        AlgorithmPolicy {
            rules: vec![
                Rule {
                    what: "RSA keys under 1,024 bits",
                    applies: Applies::RsaUnder(1024),
                    until: None,
                },
                Rule {
                    what: "elliptic curves under 256 bits",
                    applies: Applies::EcdsaUnder(256),
                    until: None,
                },
                Rule {
                    what: "SHA-1 in signatures",
                    applies: Applies::Digest(DigestAlg::Sha1),
                    until: Some(END_OF_2009),
                },
                Rule {
                    what: "RSA keys under 1,900 bits",
                    applies: Applies::RsaUnder(1900),
                    until: Some(END_OF_2016),
                },
                Rule {
                    what: "RSA keys under 3,000 bits",
                    applies: Applies::RsaUnder(3000),
                    until: Some(END_OF_2030),
                },
            ],
        }
    }
}

/// One dated rule that applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sunset {
    pub what: &'static str,
    pub until: UnixTime,
}

/// The policy's judgement of one signature's algorithms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Acceptance {
    Accepted,
    /// Never acceptable: the rule.
    Refused(&'static str),
    /// Acceptable only when made before the earliest sunset that applies.
    Until(Sunset),
}

impl Rule {
    fn applies_to(&self, digest: Option<DigestAlg>, key: KeyKind) -> bool {
        match (self.applies, key) {
            (Applies::Digest(d), _) => digest == Some(d),
            (Applies::RsaUnder(n), KeyKind::Rsa { bits }) => bits < n,
            (Applies::EcdsaUnder(n), KeyKind::Ecdsa { bits }) => bits < n,
            _ => false,
        }
    }
}

impl AlgorithmPolicy {
    /// Judges a signature made with `digest` (if the scheme names one) and
    /// a key of `key` kind.
    pub(crate) fn judge(&self, digest: Option<DigestAlg>, key: KeyKind) -> Acceptance {
        let applying = self.rules.iter().filter(|r| r.applies_to(digest, key));
        let mut earliest: Option<Sunset> = None;
        for rule in applying {
            let Some(until) = rule.until else {
                return Acceptance::Refused(rule.what);
            };
            if earliest.as_ref().is_none_or(|e| until < e.until) {
                earliest = Some(Sunset {
                    what: rule.what,
                    until,
                });
            }
        }
        earliest.map_or(Acceptance::Accepted, Acceptance::Until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_sunset_applies() {
        let p = AlgorithmPolicy::default();
        assert_eq!(
            p.judge(Some(DigestAlg::Sha256), KeyKind::Ecdsa { bits: 256 }),
            Acceptance::Accepted
        );
        assert_eq!(
            p.judge(Some(DigestAlg::Sha1), KeyKind::Rsa { bits: 1024 }),
            Acceptance::Until(Sunset {
                what: "SHA-1 in signatures",
                until: END_OF_2009
            })
        );
        assert_eq!(
            p.judge(Some(DigestAlg::Sha256), KeyKind::Rsa { bits: 1024 }),
            Acceptance::Until(Sunset {
                what: "RSA keys under 1,900 bits",
                until: END_OF_2016
            })
        );
        assert_eq!(
            p.judge(Some(DigestAlg::Sha256), KeyKind::Rsa { bits: 512 }),
            Acceptance::Refused("RSA keys under 1,024 bits")
        );
        assert_eq!(p.judge(None, KeyKind::Ed25519), Acceptance::Accepted);
        assert_eq!(
            UnixTime(END_OF_2016.0 + 1).to_rfc3339(),
            "2017-01-01T00:00:00Z"
        );
        assert_eq!(
            UnixTime(END_OF_2009.0 + 1).to_rfc3339(),
            "2010-01-01T00:00:00Z"
        );
        assert_eq!(
            UnixTime(END_OF_2030.0 + 1).to_rfc3339(),
            "2031-01-01T00:00:00Z"
        );
    }
}
