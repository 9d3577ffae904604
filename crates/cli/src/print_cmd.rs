//! `coffre print` (a printable copy of a sealed PDF) and `coffre
//! check-copy` (the QR code of a copy, checked offline).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use coffre_print::attestation::{self, CheckError};
use coffre_print::{CopyOptions, DocumentFacts, Qr};
use coffre_seal::{Certificate, Crl, ValidationConfig};

use crate::files;
use crate::term::printable;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    fn print(self) -> coffre_print::Lang {
        match self {
            Lang::Fr => coffre_print::Lang::Fr,
            Lang::En => coffre_print::Lang::En,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct PrintArgs {
    /// The original (a sealed PDF)
    file: PathBuf,
    /// Trust anchors (PEM; every certificate in each file is trusted), or
    /// the operator's trust material as `/api/v1/trust` gives it (JSON)
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// CRLs to consult besides those embedded (PEM or DER)
    #[arg(long)]
    crl: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Lang::Fr)]
    lang: Lang,
    /// A file holding the operator's attestation (the QR text)
    #[arg(long, conflicts_with = "server")]
    attestation: Option<PathBuf>,
    /// Fetch the attestation from this server (with --token)
    #[arg(long, requires = "token")]
    server: Option<String>,
    /// A session token of the safe that holds the document
    #[arg(long, env = "COFFRE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The document's title, when no attestation gives it
    #[arg(long)]
    title: Option<String>,
    /// The student's name, when no attestation gives it
    #[arg(long)]
    student: Option<String>,
    /// Where to write the copy
    #[arg(short, long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The QR code's text (or use --image)
    #[arg(required_unless_present = "image", conflicts_with = "image")]
    text: Option<String>,
    /// A scan or photo of the copy's certificate page (PNG or JPEG)
    #[arg(long)]
    image: Option<PathBuf>,
    /// Trust anchors and the operator's attestation certificates (PEM), or
    /// the operator's trust material as `/api/v1/trust` gives it (JSON)
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// CRLs to consult besides the trust material's (PEM or DER)
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// The original file: the attestation must be for it
    #[arg(long)]
    original: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Lang::Fr)]
    lang: Lang,
}

/// Trust material from `--trust` files: anchors (self-issued
/// certificates), the other certificates (attestation keys and the CAs
/// between them and a root), and CRLs.
#[derive(Default)]
struct Trust {
    anchors: Vec<Certificate>,
    others: Vec<Certificate>,
    crls: Vec<Crl>,
}

fn trust(paths: &[PathBuf], crl_paths: &[PathBuf]) -> Result<Trust> {
    let mut t = Trust {
        crls: files::crls(crl_paths)?,
        ..Trust::default()
    };
    for p in paths {
        let text = files::read_text(p)?;
        let (certs, crls) = if text.trim_start().starts_with('{') {
            let material: coffre_api::TrustMaterial = serde_json::from_str(&text)
                .with_context(|| format!("{}: not the operator's trust material", p.display()))?;
            let mut certs = Vec::new();
            for pem in material.anchors.iter().chain(&material.attestation) {
                certs.extend(
                    Certificate::from_pem_chain(pem)
                        .with_context(|| format!("reading {}", p.display()))?,
                );
            }
            let crls = material
                .crls
                .iter()
                .map(|pem| Crl::from_pem_or_der(pem.as_bytes()))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("reading {}", p.display()))?;
            (certs, crls)
        } else {
            (files::certs(p)?, Vec::new())
        };
        for c in certs {
            if c.is_self_issued() {
                t.anchors.push(c);
            } else {
                t.others.push(c);
            }
        }
        t.crls.extend(crls);
    }
    Ok(t)
}

pub fn print(args: PrintArgs) -> Result<ExitCode> {
    let original =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let t = trust(&args.trust, &args.crl)?;
    let now = crate::now();
    let revocation_date = t.crls.iter().map(Crl::this_update).max();
    let cfg = ValidationConfig::new(t.anchors.clone(), t.crls.clone(), now);
    let report = coffre_seal::validate(&original, &cfg)
        .with_context(|| format!("{} is not a PDF that can be copied", args.file.display()))?;
    let text = match (&args.attestation, &args.server) {
        (Some(p), _) => Some(files::read_text(p)?.trim().to_owned()),
        (None, Some(server)) => fetch_attestation(server, args.token.as_deref(), &original)?,
        (None, None) => None,
    };
    let mut facts = DocumentFacts {
        title: args.title.clone(),
        student: args.student.clone(),
        ..DocumentFacts::default()
    };
    let qr = match text {
        Some(text) => {
            let (statement, _) = attestation::read(&text)
                .map_err(|e| anyhow::anyhow!("the attestation cannot be read: {e}"))?;
            if statement.sha256 != coffre_seal::sha256(&original) {
                bail!(
                    "this attestation is for another document (SHA-256 {}), not {}",
                    coffre_seal::hex(&statement.sha256),
                    args.file.display()
                );
            }
            let given = facts.clone();
            facts = DocumentFacts::from_statement(&statement);
            facts.title = given.title.or(facts.title);
            Qr::Attestation(text)
        }
        None => Qr::DigestOnly,
    };
    let copy = coffre_print::copy(
        &original,
        &report,
        &CopyOptions {
            lang: args.lang.print(),
            printed_at: now,
            facts,
            qr,
            revocation_date,
        },
    )
    .with_context(|| format!("copying {}", args.file.display()))?;
    std::fs::write(&args.out, &copy).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}: {} ({})",
        args.out.display(),
        match args.lang {
            Lang::Fr => "copie imprimable écrite",
            Lang::En => "printable copy written",
        },
        report.status().as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// The attestation of the safe's document with these bytes, if it has one.
fn fetch_attestation(server: &str, token: Option<&str>, original: &[u8]) -> Result<Option<String>> {
    let Some(token) = token else {
        bail!("--server needs --token (or COFFRE_TOKEN): a session token of the safe");
    };
    let digest = coffre_seal::hex(&coffre_seal::sha256(original));
    let client = coffre_api::Client::new(server)?.with_token(token);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut page = 1;
        loop {
            let list = client
                .documents(&coffre_api::DocumentQuery {
                    page: Some(page),
                    ..Default::default()
                })
                .await?;
            if let Some(doc) = list.documents.iter().find(|d| d.sha256 == digest) {
                if doc.organisation.is_none() {
                    return Ok(None);
                }
                return Ok(Some(client.document_attestation(&doc.id).await?.text));
            }
            if list.documents.is_empty() || u64::from(page) * u64::from(list.per_page) >= list.total
            {
                bail!(
                    "this file is not in the safe: print it without --server, or deposit it first"
                );
            }
            page += 1;
        }
    })
}

pub fn check(args: CheckArgs) -> Result<ExitCode> {
    let text = match (&args.text, &args.image) {
        (Some(t), _) => t.clone(),
        (None, Some(p)) => decode_image(p)?,
        (None, None) => bail!("give the QR code's text or --image"),
    };
    let t = trust(&args.trust, &args.crl)?;
    let fr = args.lang == Lang::Fr;
    let cfg = ValidationConfig::new(t.anchors.clone(), t.crls.clone(), crate::now());
    let checked = match attestation::check(&text, &t.others, &t.others, &cfg) {
        Ok(c) => c,
        Err(e) => {
            println!(
                "{} {}",
                if fr {
                    "NON VÉRIFIÉE :"
                } else {
                    "NOT VERIFIED:"
                },
                reason(&e, fr)
            );
            if let Ok((s, _)) = attestation::read(&text) {
                println!(
                    "{}",
                    if fr {
                        "Ce que le code prétend (à ne pas croire) :"
                    } else {
                        "What the code claims (do not trust it):"
                    }
                );
                show(&s, fr);
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(p) = &args.original {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        if coffre_seal::sha256(&bytes) != checked.statement.sha256 {
            println!(
                "{} {}",
                if fr {
                    "NON VÉRIFIÉE :"
                } else {
                    "NOT VERIFIED:"
                },
                if fr {
                    format!(
                        "cette attestation est celle d'un autre document que {} (empreintes différentes)",
                        p.display()
                    )
                } else {
                    format!(
                        "this attestation is for another document than {} (the digests differ)",
                        p.display()
                    )
                }
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    println!(
        "{}",
        if fr {
            "ATTESTATION VÉRIFIÉE : l'opérateur atteste ce document original."
        } else {
            "ATTESTATION VERIFIED: the operator attests this original document."
        }
    );
    show(&checked.statement, fr);
    println!(
        "{} {}",
        if fr { "Signée par :" } else { "Signed by:" },
        printable(&checked.chain.join(" ← "))
    );
    println!(
        "{}",
        if fr {
            "La copie papier doit montrer ces mêmes informations et cette empreinte."
        } else {
            "The paper copy must show this same information and this digest."
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn show(s: &attestation::Statement, fr: bool) {
    let lang = if fr {
        coffre_print::Lang::Fr
    } else {
        coffre_print::Lang::En
    };
    let rows = [
        (if fr { "Émetteur" } else { "Issuer" }, s.issuer.clone()),
        (if fr { "Étudiant·e" } else { "Student" }, s.student.clone()),
        (if fr { "Titre" } else { "Title" }, s.title.clone()),
        (
            if fr { "Type" } else { "Kind" },
            coffre_print::kind_words(lang, &s.kind),
        ),
        (
            if fr {
                "Année universitaire"
            } else {
                "Academic year"
            },
            s.year.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            if fr { "Déposé le" } else { "Deposited on" },
            coffre_print::date_words(lang, s.deposited_at),
        ),
        (
            if fr { "Empreinte SHA-256" } else { "SHA-256" },
            coffre_print::grouped_digest(&s.sha256),
        ),
        ("Document", s.document_id.clone()),
    ];
    for (label, value) in rows {
        println!("  {label}: {}", printable(&value.replace('\n', " ")));
    }
}

fn reason(e: &CheckError, fr: bool) -> String {
    if !fr {
        return e.to_string();
    }
    match e {
        CheckError::Malformed(_) => {
            "ce n'est pas le code d'une copie Coffre, ou il est abîmé".to_owned()
        }
        CheckError::UnknownKey => {
            "signé par une clé qui n'est pas une clé d'attestation de l'opérateur (données de confiance à jour ?)".to_owned()
        }
        CheckError::Untrusted(why) => format!("la clé d'attestation n'est pas de confiance ({why})"),
        CheckError::BadSignature => {
            "la signature ne correspond pas : l'attestation a été modifiée ou contrefaite".to_owned()
        }
    }
}

/// The text of the first QR code found in an image.
fn decode_image(p: &Path) -> Result<String> {
    let img = image::open(p)
        .with_context(|| format!("reading the image {}", p.display()))?
        .to_luma8();
    // A dense code in a 150 dpi scan has modules of 2 to 3 pixels: the
    // decoder finds it more surely at two and three times the size.
    for scale in [1u32, 2, 3] {
        let scaled = if scale == 1 {
            img.clone()
        } else {
            image::imageops::resize(
                &img,
                img.width() * scale,
                img.height() * scale,
                image::imageops::FilterType::Triangle,
            )
        };
        let mut prepared = rqrr::PreparedImage::prepare(scaled);
        for grid in prepared.detect_grids() {
            if let Ok((_, text)) = grid.decode() {
                return Ok(text);
            }
        }
    }
    bail!(
        "no readable QR code in {}: scan the certificate page again, flat and sharp",
        p.display()
    )
}
