use crate::pdf::ParseError;

/// Why sealing failed, or why input could not be validated at all.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a PDF this crate can read.
    NotPdf(ParseError),
    /// Encrypted documents cannot be sealed.
    Encrypted,
    /// A certification signature forbids any change (DocMDP P=1).
    Locked,
    /// Something in the PDF this crate does not handle.
    Unsupported(&'static str),
    BadKey(&'static str),
    BadCertificate(&'static str),
    BadCrl,
    /// The key does not belong to the seal certificate.
    KeyDoesNotMatchCertificate,
    /// Levels B-T and B-LT need a time-stamping authority.
    TimestamperRequired,
    /// The time-stamping authority failed or answered wrongly.
    Tsa(String),
    /// A time outside what certificates can carry.
    BadTime(i64),
    /// An ASN.1 structure could not be encoded.
    Encoding(String),
}

impl Error {
    pub(crate) fn from_der(e: der::Error) -> Error {
        Error::Encoding(e.to_string())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotPdf(e) => write!(f, "not a readable PDF: {} at byte {}", e.what, e.offset),
            Error::Encrypted => f.write_str("the PDF is encrypted; decrypt it before sealing"),
            Error::Locked => f.write_str("the PDF is certified against any change"),
            Error::Unsupported(w) => write!(f, "unsupported PDF: {w}"),
            Error::BadKey(w) => write!(f, "private key: {w}"),
            Error::BadCertificate(w) => write!(f, "certificate: {w}"),
            Error::BadCrl => f.write_str("not a readable certificate revocation list"),
            Error::KeyDoesNotMatchCertificate => {
                f.write_str("the private key does not match the seal certificate")
            }
            Error::TimestamperRequired => {
                f.write_str("levels B-T and B-LT need a time-stamping authority")
            }
            Error::Tsa(w) => write!(f, "time-stamping authority: {w}"),
            Error::BadTime(t) => write!(f, "time {t} cannot be encoded"),
            Error::Encoding(w) => write!(f, "encoding: {w}"),
        }
    }
}

impl std::error::Error for Error {}
