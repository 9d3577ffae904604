//! E-mail addresses, parsed once: the same parser the mailer (lettre)
//! uses, so that an address the server accepted can always be sent to.

use std::fmt;
use std::str::FromStr;

/// A normalised e-mail address: trimmed, ASCII lower case, accepted by
/// lettre's parser, at most 254 bytes, with a dotted domain name (no IP
/// literal: a personal address is on the internet).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Why a text is not an address we take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAnEmail;

impl fmt::Display for NotAnEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an e-mail address")
    }
}

impl std::error::Error for NotAnEmail {}

impl Email {
    pub fn parse(text: &str) -> Result<Email, NotAnEmail> {
        let s = text.trim().to_ascii_lowercase();
        if s.is_empty() || s.len() > 254 || !s.chars().all(|c| c.is_ascii_graphic()) {
            return Err(NotAnEmail);
        }
        let address = lettre::Address::from_str(&s).map_err(|_| NotAnEmail)?;
        let domain = address.domain();
        if !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.starts_with('[')
            || domain.parse::<std::net::IpAddr>().is_ok()
        {
            return Err(NotAnEmail);
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What follows the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for good in [
            "lea@example.org",
            " Lea.Roux+coffre@Example.ORG ",
            "a_b@sub.example.fr",
        ] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        assert_eq!(
            Email::parse(" Lea@Example.org").unwrap().as_str(),
            "lea@example.org"
        );
        for bad in [
            "",
            "a@b@gmail.com",
            "lea",
            "lea@",
            "@example.org",
            "lea@localhost",
            "lea@127.0.0.1",
            "lea@[127.0.0.1]",
            "lea@.example.org",
            "lea@example.org.",
            "lé@example.org",
            "lea @example.org",
            "lea\u{1b}[2J@example.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
