use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use coffre_seal::{
    Indication, Report, SignatureKind, SignatureReport, Status, SubIndication, UnixTime,
    ValidationConfig,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::files;
use crate::term::printable;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Trust anchors (PEM; every certificate in each file is trusted)
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// CRLs to consult besides those embedded (PEM or DER)
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// One JSON array on standard output, one object per file
    #[arg(long)]
    json: bool,
    #[arg(long, value_enum, default_value_t = Lang::En)]
    lang: Lang,
    /// Validate as of this UTC time (YYYY-MM-DDTHH:MM:SSZ) instead of now
    #[arg(long)]
    at: Option<String>,
    /// PDF files to verify
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Lang {
    Fr,
    En,
}

#[derive(Debug, Serialize)]
struct FileJson {
    file: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// How a damaged file was repaired to be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    repaired: Option<String>,
    signatures: Vec<SignatureJson>,
}

#[derive(Debug, Serialize)]
struct SignatureJson {
    field: String,
    kind: &'static str,
    indication: &'static str,
    sub_indication: Option<&'static str>,
    signer: Option<SignerJson>,
    signed_at: Option<String>,
    timestamped_at: Option<String>,
    timestamp_valid: Option<bool>,
    covers_whole_document: bool,
    modified_after_sealing: bool,
    certification: Option<i64>,
    revocation_checked: bool,
    chain: Vec<String>,
    changes: Vec<ChangeJson>,
    details: Vec<String>,
}

#[derive(Debug, Serialize)]
struct SignerJson {
    common_name: Option<String>,
    organization: Option<String>,
    subject: String,
}

#[derive(Debug, Serialize)]
struct ChangeJson {
    allowed: bool,
    what: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut anchors = Vec::new();
    for p in &args.trust {
        anchors.extend(files::certs(p)?);
    }
    let crls = files::crls(&args.crl)?;
    let time = match &args.at {
        Some(s) => parse_utc(s)?,
        None => crate::now(),
    };
    let cfg = ValidationConfig::new(anchors, crls, time);
    let results: Vec<(PathBuf, Result<Report, String>)> = args
        .files
        .par_iter()
        .map(|f| (f.clone(), verify_file(f, &cfg)))
        .collect();
    let all_passed = results
        .iter()
        .all(|(_, r)| matches!(r, Ok(rep) if rep.status() == Status::TotalPassed));
    if args.json {
        let out: Vec<FileJson> = results.iter().map(|(f, r)| to_json(f, r)).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (i, (f, r)) in results.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print!("{}", human(f, r, args.lang));
        }
    }
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn verify_file(path: &Path, cfg: &ValidationConfig) -> Result<Report, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    coffre_seal::validate(&bytes, cfg).map_err(|e| e.to_string())
}

fn parse_utc(s: &str) -> Result<UnixTime> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 14 || !s.ends_with('Z') {
        bail!("--at wants a UTC time like 2026-11-30T09:00:00Z, got {s:?}");
    }
    UnixTime::from_pdf_date(format!("D:{digits}Z").as_bytes())
        .with_context(|| format!("--at: {s:?} is not a valid time"))
}

fn file_status(r: &Result<Report, String>) -> &'static str {
    match r {
        Ok(rep) => rep.status().as_str(),
        Err(_) => "NOT_PDF",
    }
}

fn to_json(file: &Path, r: &Result<Report, String>) -> FileJson {
    FileJson {
        file: file.display().to_string(),
        status: file_status(r),
        error: r.as_ref().err().cloned(),
        repaired: r.as_ref().ok().and_then(|rep| rep.repaired.clone()),
        signatures: r
            .as_ref()
            .map(|rep| rep.signatures.iter().map(sig_json).collect())
            .unwrap_or_default(),
    }
}

fn sig_json(s: &SignatureReport) -> SignatureJson {
    SignatureJson {
        field: s.field.clone(),
        kind: match s.kind {
            SignatureKind::Signature => "signature",
            SignatureKind::DocumentTimestamp => "document_timestamp",
        },
        indication: s.indication.as_str(),
        sub_indication: s.sub_indication.map(|x| x.as_str()),
        signer: s.signer.as_ref().map(|x| SignerJson {
            common_name: x.common_name.clone(),
            organization: x.organization.clone(),
            subject: x.subject.clone(),
        }),
        signed_at: s.claimed_signing_time.map(UnixTime::to_rfc3339),
        timestamped_at: s.timestamp.as_ref().map(|t| t.time.to_rfc3339()),
        timestamp_valid: s.timestamp.as_ref().map(|t| t.valid),
        covers_whole_document: s.covers_whole_document,
        modified_after_sealing: s.modified_after_sealing,
        certification: s.certification,
        revocation_checked: s.revocation_checked,
        chain: s.chain.clone(),
        changes: s
            .changes
            .iter()
            .map(|c| ChangeJson {
                allowed: c.allowed,
                what: c.what.clone(),
            })
            .collect(),
        details: s.details.clone(),
    }
}

/// The human report, worded as a certificate of originality. What comes
/// from the file (names, fields, details) goes through `printable`: a PDF
/// cannot write to the terminal.
fn human(file: &Path, r: &Result<Report, String>, lang: Lang) -> String {
    let fr = lang == Lang::Fr;
    let t = |fr_s: &'static str, en_s: &'static str| if fr { fr_s } else { en_s };
    let mut out = String::new();
    let name = printable(&file.display().to_string());
    out.push_str(&format!(
        "{} — {name}\n",
        t("Certificat d'originalité", "Certificate of originality")
    ));
    let rep = match r {
        Err(e) => {
            let e = printable(e);
            out.push_str(&format!(
                "  {}: {} ({e})\n",
                t("Résultat", "Result"),
                t(
                    "ce fichier n'est pas un PDF lisible",
                    "this file is not a readable PDF"
                )
            ));
            return out;
        }
        Ok(rep) => rep,
    };
    let verdict = match rep.status() {
        Status::TotalPassed => t(
            "ORIGINAL — le sceau est valide et le document intact",
            "ORIGINAL — the seal is valid and the document intact",
        ),
        Status::Indeterminate => t(
            "INDÉTERMINÉ — le sceau ne peut pas être confirmé",
            "INDETERMINATE — the seal cannot be confirmed",
        ),
        Status::TotalFailed => t(
            "NON CONFORME — le sceau est invalide ou le document a été modifié",
            "NOT ORIGINAL — the seal is invalid or the document was changed",
        ),
        Status::NoSignature => t(
            "AUCUN SCEAU — ce document n'est pas scellé",
            "NO SEAL — this document is not sealed",
        ),
    };
    out.push_str(&format!(
        "  {}: {verdict} [{}]\n",
        t("Résultat", "Result"),
        rep.status().as_str()
    ));
    if let Some(how) = &rep.repaired {
        out.push_str(&format!(
            "  {}: {}\n",
            t(
                "Fichier endommagé, réparé pour être lu (en anglais)",
                "Damaged file, repaired to be read"
            ),
            printable(how)
        ));
    }
    for s in &rep.signatures {
        let kind = match s.kind {
            SignatureKind::Signature => t("Sceau", "Seal"),
            SignatureKind::DocumentTimestamp => t("Horodatage du document", "Document time-stamp"),
        };
        let ind = match s.indication {
            Indication::TotalPassed => t("valide", "valid"),
            Indication::Indeterminate => t("indéterminé", "indeterminate"),
            Indication::TotalFailed => t("invalide", "invalid"),
        };
        let sub = s
            .sub_indication
            .map(|x| format!(" / {}", x.as_str()))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n  {kind} « {} » : {ind} [{}{sub}]\n",
            printable(&s.field),
            s.indication.as_str()
        ));
        if let Some(signer) = &s.signer {
            let org = signer
                .organization
                .as_deref()
                .or(signer.common_name.as_deref())
                .unwrap_or("?");
            let org = printable(org);
            out.push_str(&format!("    {}: {org}\n", t("Émis par", "Issued by")));
            out.push_str(&format!(
                "    {}: {} ({} {})\n",
                t("Certificat de sceau", "Seal certificate"),
                printable(signer.common_name.as_deref().unwrap_or("?")),
                t("numéro", "serial"),
                printable(&signer.serial)
            ));
        }
        if let Some(at) = s.claimed_signing_time {
            out.push_str(&format!(
                "    {}: {}\n",
                t("Scellé le (déclaré)", "Sealed on (claimed)"),
                at.to_rfc3339()
            ));
        }
        match &s.timestamp {
            Some(ts) if ts.valid => out.push_str(&format!(
                "    {}: {} ({})\n",
                t("Horodatage", "Time-stamp"),
                ts.time.to_rfc3339(),
                t(
                    "vérifié : le sceau existait à cette date",
                    "verified: the seal existed at that time"
                )
            )),
            Some(ts) => out.push_str(&format!(
                "    {}: {} ({})\n",
                t("Horodatage", "Time-stamp"),
                ts.time.to_rfc3339(),
                t("non vérifié", "not verified")
            )),
            None => out.push_str(&format!(
                "    {}: {}\n",
                t("Horodatage", "Time-stamp"),
                t("aucun", "none")
            )),
        }
        let changed =
            s.modified_after_sealing || s.sub_indication == Some(SubIndication::HashFailure);
        let intact = if changed {
            t(
                "NON — le document a été modifié après le scellement",
                "NO — the document was changed after sealing",
            )
        } else if s.covers_whole_document {
            t(
                "oui — le sceau couvre tout le fichier",
                "yes — the seal covers the whole file",
            )
        } else {
            t(
                "oui — seules des données de validation ont été ajoutées depuis",
                "yes — only validation data was added since",
            )
        };
        out.push_str(&format!(
            "    {}: {intact}\n",
            t("Document intact", "Document intact")
        ));
        if let Some(p) = s.certification {
            out.push_str(&format!(
                "    {}: P={p}\n",
                t("Certification (DocMDP)", "Certification (DocMDP)")
            ));
        }
        if !s.chain.is_empty() {
            out.push_str(&format!(
                "    {}: {}\n",
                t("Chaîne de confiance", "Chain of trust"),
                printable(&s.chain.join(" → "))
            ));
        }
        out.push_str(&format!(
            "    {}: {}\n",
            t("Révocation", "Revocation"),
            if s.revocation_checked {
                t(
                    "vérifiée (listes de révocation)",
                    "checked (revocation lists)",
                )
            } else {
                t("non vérifiée", "not checked")
            }
        ));
        if let Some(sub) = s.sub_indication {
            out.push_str(&format!(
                "    {}: {}\n",
                t("Motif", "Reason"),
                reason(sub, fr)
            ));
        }
        if !s.details.is_empty() {
            out.push_str(&format!(
                "    {}:\n",
                t("Détails techniques (en anglais)", "Technical details")
            ));
            for d in &s.details {
                out.push_str(&format!("    - {}\n", printable(d)));
            }
        }
    }
    out.push_str(&format!(
        "  {}: {}\n",
        t("Vérifié le", "Verified on"),
        rep.validation_time.to_rfc3339()
    ));
    out
}

/// What a sub-indication means for the person holding the document.
fn reason(sub: SubIndication, fr: bool) -> &'static str {
    use SubIndication::*;
    match (sub, fr) {
        (HashFailure, true) => "le document a été modifié après avoir été scellé",
        (HashFailure, false) => "the document was changed after it was sealed",
        (SigCryptoFailure, true) => "la valeur du sceau est fausse : il n'a pas été apposé par ce certificat",
        (SigCryptoFailure, false) => "the seal value is wrong: it was not made with this certificate",
        (FormatFailure, true) => "le sceau est mal formé ou ne couvre pas le document",
        (FormatFailure, false) => "the seal is malformed or does not cover the document",
        (NoCertificateChainFound, true) => "le certificat du sceau ne mène à aucune autorité de confiance (importez la racine de l'émetteur)",
        (NoCertificateChainFound, false) => "the seal certificate leads to no trusted authority (import the issuer's root)",
        (NoSigningCertificateFound, true) => "le certificat du sceau manque",
        (NoSigningCertificateFound, false) => "the seal certificate is missing",
        (ChainConstraintsFailure, true) => "un certificat de la chaîne n'a pas le droit de faire ce qu'il fait",
        (ChainConstraintsFailure, false) => "a certificate in the chain is not allowed to do what it does",
        (OutOfBoundsNoPoe, true) => "le certificat du sceau a expiré et aucun horodatage ne prouve que le sceau est antérieur",
        (OutOfBoundsNoPoe, false) => "the seal certificate has expired and no time-stamp proves the seal is older",
        (RevokedNoPoe, true) => "le certificat du sceau est révoqué et rien ne prouve que le sceau est antérieur à la révocation",
        (RevokedNoPoe, false) => "the seal certificate is revoked and nothing proves the seal predates the revocation",
        (Revoked, true) => "le certificat du sceau était déjà révoqué quand le sceau a été apposé",
        (Revoked, false) => "the seal certificate was already revoked when the seal was made",
        (NotYetValid, true) => "le certificat du sceau n'est pas encore valide",
        (NotYetValid, false) => "the seal certificate is not valid yet",
        (CryptoConstraintsFailureNoPoe, true) => "l'algorithme du sceau n'est plus accepté, et aucun horodatage ne prouve que le sceau est antérieur à cette date",
        (CryptoConstraintsFailureNoPoe, false) => "the seal's algorithm is no longer accepted, and no time-stamp proves the seal is older than that",
        (_, true) => "l'algorithme du sceau n'est pas accepté ou ne peut pas être vérifié ici",
        (_, false) => "the seal's algorithm is not accepted or cannot be checked here",
    }
}
