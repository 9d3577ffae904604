//! The copy's words, in French and English: one struct, so a missing
//! sentence is a compile error.

use coffre_seal::UnixTime;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

pub struct Words {
    /// In the band of every page; WinAnsi characters only.
    pub band: &'static str,
    pub band_certificate: &'static str,
    pub title: &'static str,
    pub subtitle: &'static str,
    pub passed: &'static str,
    pub passed_more: &'static str,
    pub indeterminate: &'static str,
    pub indeterminate_more: &'static str,
    pub failed: &'static str,
    pub failed_more: &'static str,
    pub no_seal: &'static str,
    pub no_seal_more: &'static str,
    pub reason: &'static str,
    pub section_document: &'static str,
    pub doc_title: &'static str,
    pub kind: &'static str,
    pub year: &'static str,
    pub student: &'static str,
    pub issuer: &'static str,
    pub pages: &'static str,
    pub section_seal: &'static str,
    pub seal_subject: &'static str,
    pub serial: &'static str,
    pub validity: &'static str,
    pub validity_between: &'static str,
    pub chain: &'static str,
    pub sealed_at: &'static str,
    pub timestamp_yes: &'static str,
    pub timestamp_no: &'static str,
    pub section_check: &'static str,
    pub result: &'static str,
    pub revocation: &'static str,
    pub revocation_none: &'static str,
    pub printed_at: &'static str,
    pub digest: &'static str,
    pub section_qr: &'static str,
    pub qr_attested: &'static str,
    pub qr_not_certified: &'static str,
    pub footer: &'static str,
    pub unknown: &'static str,
    pub months: [&'static str; 12],
}

pub fn of(lang: Lang) -> &'static Words {
    match lang {
        Lang::Fr => &FR,
        Lang::En => &EN,
    }
}

static FR: Words = Words {
    band: "COPIE \u{2014} COPY   Ceci est une copie, pas l'original.",
    band_certificate: "voir le certificat d'originalit\u{e9}, page",
    title: "Certificat d'originalité",
    subtitle: "Copie imprimée d'un document numérique scellé",
    passed: "Le document original est authentique.",
    passed_more: "Son sceau électronique a été vérifié à l'impression : le document n'a pas été modifié depuis qu'il a été scellé par son émetteur.",
    indeterminate: "ATTENTION : l'authenticité de l'original n'a pas pu être établie.",
    indeterminate_more: "Son sceau électronique n'a pas pu être vérifié complètement à l'impression. Ne vous fiez pas à cette copie sans vérifier l'original.",
    failed: "ATTENTION : le sceau de l'original est rompu ou n'est pas reconnu.",
    failed_more: "Le document a pu être modifié après avoir été scellé, ou son sceau ne vient pas d'une autorité reconnue. Cette copie ne prouve rien.",
    no_seal: "ATTENTION : l'original ne porte aucun sceau électronique.",
    no_seal_more: "Rien ne garantit son origine ni son intégrité. Cette copie ne prouve rien.",
    reason: "Raison",
    section_document: "Document",
    doc_title: "Titre",
    kind: "Type",
    year: "Année universitaire",
    student: "Étudiant·e",
    issuer: "Émetteur",
    pages: "Pages de l'original",
    section_seal: "Sceau électronique",
    seal_subject: "Certificat du sceau",
    serial: "Numéro de série",
    validity: "Période du certificat",
    validity_between: "du {from} au {to}",
    chain: "Chaîne de confiance",
    sealed_at: "Scellé le",
    timestamp_yes: "(date prouvée par un horodatage)",
    timestamp_no: "(date déclarée, sans horodatage)",
    section_check: "Vérification",
    result: "Résultat à l'impression",
    revocation: "Données de révocation du",
    revocation_none: "aucune consultée",
    printed_at: "Imprimé le",
    digest: "Empreinte SHA-256 de l'original",
    section_qr: "Vérifier cette copie",
    qr_attested: "Scannez ce code avec un téléphone, ou lancez « coffre check-copy » sur son texte : il affiche l'émetteur, l'étudiant·e, le titre et l'empreinte attestés par l'opérateur. Ils doivent être ceux de cette page.",
    qr_not_certified: "Document non certifié : ce code contient seulement l'empreinte de l'original. Comparez-la à celle du fichier original (par exemple avec « sha256sum »).",
    footer: "Cette copie n'a pas de valeur d'original : seul le fichier numérique porte le sceau électronique.",
    unknown: "non indiqué",
    months: [
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre",
    ],
};

static EN: Words = Words {
    band: "COPY \u{2014} COPIE   This is a copy, not the original.",
    band_certificate: "see the certificate of originality, page",
    title: "Certificate of originality",
    subtitle: "Printed copy of a sealed digital document",
    passed: "The original document is authentic.",
    passed_more: "Its electronic seal was checked when this copy was printed: the document has not changed since its issuer sealed it.",
    indeterminate: "WARNING: the original's authenticity could not be established.",
    indeterminate_more: "Its electronic seal could not be fully checked when this copy was printed. Do not rely on this copy without checking the original.",
    failed: "WARNING: the original's seal is broken or not recognised.",
    failed_more: "The document may have been changed after it was sealed, or its seal does not come from a recognised authority. This copy proves nothing.",
    no_seal: "WARNING: the original carries no electronic seal.",
    no_seal_more: "Nothing vouches for its origin or integrity. This copy proves nothing.",
    reason: "Reason",
    section_document: "Document",
    doc_title: "Title",
    kind: "Kind",
    year: "Academic year",
    student: "Student",
    issuer: "Issuer",
    pages: "Pages of the original",
    section_seal: "Electronic seal",
    seal_subject: "Seal certificate",
    serial: "Serial number",
    validity: "Certificate period",
    validity_between: "from {from} to {to}",
    chain: "Chain of trust",
    sealed_at: "Sealed on",
    timestamp_yes: "(time proven by a time-stamp)",
    timestamp_no: "(time as declared, no time-stamp)",
    section_check: "Check",
    result: "Result when printed",
    revocation: "Revocation data of",
    revocation_none: "none consulted",
    printed_at: "Printed on",
    digest: "SHA-256 of the original",
    section_qr: "Check this copy",
    qr_attested: "Scan this code with a phone, or run \u{201c}coffre check-copy\u{201d} on its text: it shows the issuer, the student, the title and the digest the operator attests. They must be those on this page.",
    qr_not_certified: "Not certified: this code holds only the original's digest. Compare it with the original file's (for instance with \u{201c}sha256sum\u{201d}).",
    footer: "This copy is not an original: only the digital file carries the electronic seal.",
    unknown: "not given",
    months: [
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ],
};

/// `1 décembre 2026, 14:05 UTC` / `1 December 2026, 14:05 UTC`.
pub fn date_time(lang: Lang, t: UnixTime) -> String {
    let (y, m, d, h, mi, _) = t.civil();
    let month = of(lang).months[(m.clamp(1, 12) - 1) as usize];
    format!("{d} {month} {y}, {h:02}:{mi:02} UTC")
}

/// `1 décembre 2026` / `1 December 2026`.
pub fn date(lang: Lang, t: UnixTime) -> String {
    let (y, m, d, ..) = t.civil();
    let month = of(lang).months[(m.clamp(1, 12) - 1) as usize];
    format!("{d} {month} {y}")
}

/// A document kind's words.
pub fn kind(lang: Lang, wire: &str) -> String {
    let (fr, en) = match wire {
        "transcript" => ("Relevé de notes", "Transcript"),
        "certificate_of_achievement" => ("Attestation de réussite", "Certificate of achievement"),
        "diploma" => ("Diplôme", "Diploma"),
        "identity" => ("Pièce d'identité", "Identity document"),
        "invoice" => ("Facture", "Invoice"),
        "other" => ("Autre document", "Other document"),
        other => (other, other),
    };
    match lang {
        Lang::Fr => fr.to_owned(),
        Lang::En => en.to_owned(),
    }
}

/// The sub-indication's reason in words.
pub fn reason(lang: Lang, sub: &str) -> String {
    let (fr, en) = match sub {
        "HASH_FAILURE" => (
            "le contenu a changé après le scellement",
            "the content changed after sealing",
        ),
        "SIG_CRYPTO_FAILURE" => (
            "la signature ne correspond pas au document",
            "the signature does not match the document",
        ),
        "REVOKED" => (
            "le certificat du sceau a été révoqué",
            "the seal certificate was revoked",
        ),
        "NO_CERTIFICATE_CHAIN_FOUND" => (
            "le sceau ne remonte à aucune autorité de confiance",
            "the seal does not chain to a trusted authority",
        ),
        "REVOKED_NO_POE" => (
            "le certificat du sceau a été révoqué, et rien ne prouve que le scellement a eu lieu avant",
            "the seal certificate was revoked, and nothing proves the sealing came before",
        ),
        "NO_SIGNING_CERTIFICATE_FOUND" => (
            "le certificat du sceau est absent",
            "the seal certificate is missing",
        ),
        "NOT_YET_VALID" => (
            "le certificat du sceau n'était pas encore en vigueur",
            "the seal certificate was not yet in force",
        ),
        "CRYPTO_CONSTRAINTS_FAILURE" => (
            "le sceau utilise un algorithme refusé, ou impossible à vérifier ici",
            "the seal uses an algorithm that is refused, or that cannot be checked here",
        ),
        "CRYPTO_CONSTRAINTS_FAILURE_NO_POE" => (
            "le sceau utilise un algorithme qui n'est plus accepté, et rien ne prouve que le scellement est antérieur",
            "the seal uses an algorithm no longer accepted, and nothing proves the sealing came before",
        ),
        "OUT_OF_BOUNDS_NO_POE" => (
            "le certificat du sceau avait expiré ou n'était pas encore en vigueur au scellement",
            "the seal certificate had expired or was not yet in force when the document was sealed",
        ),
        "FORMAT_FAILURE" => ("le sceau est mal formé", "the seal is malformed"),
        "CHAIN_CONSTRAINTS_FAILURE" => (
            "la chaîne de certificats ne respecte pas ses règles",
            "the certificate chain breaks its rules",
        ),
        "SIGNED_DATA_NOT_FOUND" => (
            "les données scellées sont introuvables",
            "the sealed data cannot be found",
        ),
        other => (other, other),
    };
    match lang {
        Lang::Fr => fr.to_owned(),
        Lang::En => en.to_owned(),
    }
}
