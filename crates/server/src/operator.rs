//! The operator's PKI: a root, a seal CA that issues each organisation's
//! seal certificate, and a time-stamping authority. The running server
//! holds only the seal CA's and the TSA's keys, and a CRL the root signed
//! for a long time: the root's key stays offline.
//!
//! `coffre admin operator init` makes the PKI with the root's key written
//! elsewhere (removable media), and `coffre admin operator root-crl`
//! signs the root's next CRL with it. A data directory started without a
//! PKI gets one whose root key is thrown away once it has signed the CA,
//! the TSA and a CRL valid as long as the CA: nothing can ever sign as
//! that root again.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use coffre_seal::pki::{self, CertSpec, Role};
use coffre_seal::{Certificate, Crl, LocalTsa, SigningKey, UnixTime, ValidationConfig};

use crate::Clock;

const YEAR: i64 = 365 * 86_400;
const CRL_DAYS: i64 = 30;

#[derive(Debug)]
pub struct Operator {
    root: Certificate,
    ca: Certificate,
    ca_key: SigningKey,
    crls: Vec<Crl>,
    pub tsa: LocalTsa,
    /// Signs the attestations that printed copies carry in their QR code;
    /// certified by the seal CA, under the root.
    attestation_key: SigningKey,
    attestation: Certificate,
    /// Shared by every deposit's validation, so the operator's certificate
    /// and CRL signatures are verified once, not once per deposit.
    validation: ValidationConfig,
}

/// The root CRL of a PKI whose root key was thrown away lasts as long as
/// the seal CA it vouches for.
const CA_YEARS: i64 = 15;
/// The root CRL signed by `operator init` and `root-crl`, unless told.
pub const ROOT_CRL_DAYS: i64 = 400;

impl Operator {
    /// Loads `DATA_DIR/operator/`, creating it on the first start (with no
    /// root key kept).
    pub fn open(data_dir: &Path, clock: Clock) -> Result<Operator> {
        let dir = data_dir.join("operator");
        let now = clock();
        if !dir.join("root.pem").exists() {
            // Made aside and moved in whole: a server and an operator's
            // command starting together cannot mix two PKIs.
            let nonce: u64 = rand::random();
            let staged = data_dir.join(format!(".operator-{}-{nonce:016x}", std::process::id()));
            let root_key = create(&staged, now, CA_YEARS * 365)
                .with_context(|| format!("creating the operator PKI in {}", dir.display()))?;
            drop(root_key);
            match std::fs::rename(&staged, &dir) {
                Ok(()) => tracing::info!(
                    "created the operator PKI in {}; its root key was not kept (for a root kept \
                     offline, use coffre admin operator init)",
                    dir.display()
                ),
                Err(_) if dir.join("root.pem").exists() => {
                    let _ = std::fs::remove_dir_all(&staged);
                }
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&staged);
                    return Err(e).with_context(|| format!("creating {}", dir.display()));
                }
            }
        }
        let read = |name: &str| -> Result<String> {
            let p = dir.join(name);
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
        };
        let cert = |name: &str| -> Result<Certificate> {
            Ok(Certificate::from_pem_chain(&read(name)?)?.remove(0))
        };
        let root = cert("root.pem")?;
        let ca = cert("ca.pem")?;
        let ca_key = SigningKey::from_pem(&read("ca.key.pem")?)?;
        let tsa_cert = cert("tsa.pem")?;
        let tsa_key = SigningKey::from_pem(&read("tsa.key.pem")?)?;
        if dir.join("root.key.pem").exists() {
            tracing::warn!(
                "{} is the root's private key, online beside the service: move it to offline \
                 storage (the server does not read it; coffre admin operator root-crl uses it)",
                dir.join("root.key.pem").display()
            );
        }
        // The seal CA's CRL is reissued when it would go stale within a
        // week; the root's is signed offline.
        let root_crl = Crl::from_pem_or_der(read("root.crl.pem")?.as_bytes())
            .context("reading the root's CRL (operator/root.crl.pem)")?;
        let crls = vec![
            fresh_crl(&dir.join("ca.crl.pem"), &ca, &ca_key, now)?,
            root_crl,
        ];
        let tsa = LocalTsa::new(
            tsa_key,
            vec![tsa_cert, ca.clone(), root.clone()],
            move || clock(),
        )?;
        let (attestation_key, attestation) = attestation_key(&dir, &ca, &ca_key, now)?;
        let validation = ValidationConfig::new(vec![root.clone()], crls.clone(), now);
        let operator = Operator {
            root,
            ca,
            ca_key,
            crls,
            tsa,
            attestation_key,
            attestation,
            validation,
        };
        operator.warn_if_stale(now);
        Ok(operator)
    }

    /// Logs a warning when the root's CRL expires within 30 days.
    pub fn warn_if_stale(&self, now: UnixTime) {
        if let Some(next) = self.crls.get(1).and_then(Crl::next_update) {
            if next.0 < now.0 + 30 * 86_400 {
                tracing::warn!(
                    "the root's CRL expires at {}: sign the next one with coffre admin operator \
                     root-crl on the machine that holds the root key",
                    next.to_rfc3339()
                );
            }
        }
    }

    /// A seal key and certificate for an organisation, and the chain to
    /// embed (seal CA, root).
    pub fn issue_seal(
        &self,
        organisation: &str,
        now: UnixTime,
    ) -> Result<(SigningKey, Certificate, Vec<Certificate>)> {
        let key = SigningKey::generate()?;
        let cert = pki::issue(
            &self.ca,
            &self.ca_key,
            &key,
            &CertSpec {
                role: Role::Seal,
                common_name: format!("{organisation} Seal"),
                organization: organisation.to_owned(),
                not_before: UnixTime(now.0 - 86_400),
                not_after: UnixTime(now.0 + 3 * YEAR),
            },
        )?;
        Ok((key, cert, vec![self.ca.clone(), self.root.clone()]))
    }

    pub fn root(&self) -> &Certificate {
        &self.root
    }

    /// The attestation certificate, then the CA between it and the root.
    pub fn attestation_chain(&self) -> [&Certificate; 2] {
        [&self.attestation, &self.ca]
    }

    /// Signs a statement about a deposited original: the QR text of its
    /// printed copies, a URL under `public_url`.
    pub fn attest(
        &self,
        statement: &coffre_print::attestation::Statement,
        public_url: &str,
    ) -> Result<String> {
        Ok(coffre_print::attestation::sign(
            statement,
            &self.attestation_key,
            &self.attestation,
            public_url,
        )?)
    }

    pub fn crls(&self) -> &[Crl] {
        &self.crls
    }

    /// What deposits are validated against.
    pub fn validation(&self, now: UnixTime) -> ValidationConfig {
        let mut config = self.validation.clone();
        config.time = now;
        config
    }
}

/// Makes a new PKI in `dir` and returns the root's key (the caller
/// writes it offline, or drops it). The root's CRL lasts `root_crl_days`.
fn create(dir: &Path, now: UnixTime, root_crl_days: i64) -> Result<SigningKey> {
    crate::private::create_dir(dir)?;
    let spec = |role, cn: &str, years: i64| CertSpec {
        role,
        common_name: cn.to_owned(),
        organization: "Coffre".to_owned(),
        not_before: UnixTime(now.0 - 86_400),
        not_after: UnixTime(now.0 + years * YEAR),
    };
    let root_key = SigningKey::generate()?;
    let root = pki::self_signed(&root_key, &spec(Role::Root, "Coffre Root CA", 25))?;
    let ca_key = SigningKey::generate()?;
    let ca = pki::issue(
        &root,
        &root_key,
        &ca_key,
        &spec(Role::Intermediate, "Coffre Seal CA", CA_YEARS),
    )?;
    let tsa_key = SigningKey::generate()?;
    let tsa = pki::issue(
        &ca,
        &ca_key,
        &tsa_key,
        &spec(Role::TimeStamping, "Coffre Time-Stamping Authority", 10),
    )?;
    let root_crl = empty_crl(&root, &root_key, now, root_crl_days)?;
    let files: [(&str, String); 6] = [
        ("ca.pem", ca.to_pem()),
        ("ca.key.pem", ca_key.to_pem()),
        ("tsa.pem", tsa.to_pem()),
        ("tsa.key.pem", tsa_key.to_pem()),
        ("root.crl.pem", root_crl.to_pem()),
        // Last: its presence means the PKI is complete.
        ("root.pem", root.to_pem()),
    ];
    for (name, text) in files {
        crate::private::write(&dir.join(name), text.as_bytes())?;
    }
    Ok(root_key)
}

/// The attestation key and certificate in `dir/attestation.pem`, made on
/// the first start that lacks them (a PKI from before copies had QR
/// codes gets one then). One file, written whole: two processes starting
/// together keep the same key.
fn attestation_key(
    dir: &Path,
    ca: &Certificate,
    ca_key: &SigningKey,
    now: UnixTime,
) -> Result<(SigningKey, Certificate)> {
    let path = dir.join("attestation.pem");
    if !path.exists() {
        let key = SigningKey::generate()?;
        let cert = pki::issue(
            ca,
            ca_key,
            &key,
            &CertSpec {
                role: Role::Attestation,
                common_name: "Coffre Copy Attestation".to_owned(),
                // The root's organisation: a verifier takes no other key.
                organization: ca.organization().unwrap_or_else(|| "Coffre".to_owned()),
                not_before: UnixTime(now.0 - 86_400),
                not_after: UnixTime(now.0 + 10 * YEAR).min(ca.not_after()),
            },
        )?;
        let text = format!("{}{}", cert.to_pem(), key.to_pem());
        crate::private::write_new(&path, text.as_bytes())?;
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut key = None;
    let mut cert = None;
    for (label, der) in coffre_seal::pem_blocks(&text) {
        match label.as_str() {
            "CERTIFICATE" => cert = Some(Certificate::from_der(&der)?),
            "PRIVATE KEY" => key = Some(SigningKey::from_pkcs8(&der)?),
            _ => {}
        }
    }
    match (key, cert) {
        (Some(k), Some(c)) => Ok((k, c)),
        _ => anyhow::bail!("{} lacks its key or its certificate", path.display()),
    }
}

/// A CRL revoking nothing, from an hour ago for `days`.
fn empty_crl(issuer: &Certificate, key: &SigningKey, now: UnixTime, days: i64) -> Result<Crl> {
    Ok(pki::crl(
        issuer,
        key,
        &[],
        UnixTime(now.0 - 3600),
        UnixTime(now.0 + days * 86_400),
        now.0.max(1) as u64,
    )?)
}

/// `coffre admin operator init`: a new PKI in `DATA_DIR/operator/`, with
/// the root's certificate and key written to `root_dir` (0700/0600) and
/// not kept by the server. Refuses a data directory that has a PKI.
pub fn init_offline(
    data_dir: &Path,
    root_dir: &Path,
    now: UnixTime,
    root_crl_days: i64,
) -> Result<()> {
    let dir = data_dir.join("operator");
    anyhow::ensure!(
        !dir.join("root.pem").exists(),
        "{} already holds an operator PKI",
        dir.display()
    );
    crate::private::create_dir(root_dir)?;
    let key_path = root_dir.join("root.key.pem");
    anyhow::ensure!(
        !key_path.exists(),
        "{} exists already: give an empty folder",
        key_path.display()
    );
    let root_key = create(&dir, now, root_crl_days)?;
    crate::private::write(&key_path, root_key.to_pem().as_bytes())?;
    std::fs::copy(dir.join("root.pem"), root_dir.join("root.pem"))
        .context("copying root.pem beside its key")?;
    Ok(())
}

/// `coffre admin operator root-crl`: signs the root's next CRL with its
/// key (which must be the one of `DATA_DIR/operator/root.pem`).
pub fn renew_root_crl(
    data_dir: &Path,
    root_key_pem: &str,
    now: UnixTime,
    days: i64,
) -> Result<UnixTime> {
    let dir = data_dir.join("operator");
    let root_pem = std::fs::read_to_string(dir.join("root.pem"))
        .with_context(|| format!("reading {}", dir.join("root.pem").display()))?;
    let root = Certificate::from_pem_chain(&root_pem)?.remove(0);
    let key = SigningKey::from_pem(root_key_pem).context("reading the root key")?;
    let crl = empty_crl(&root, &key, now, days)?;
    anyhow::ensure!(
        crl.is_signed_by(&root),
        "this key is not the key of {}",
        dir.join("root.pem").display()
    );
    crate::private::write(&dir.join("root.crl.pem"), crl.to_pem().as_bytes())?;
    Ok(UnixTime(now.0 + days * 86_400))
}

fn fresh_crl(path: &PathBuf, issuer: &Certificate, key: &SigningKey, now: UnixTime) -> Result<Crl> {
    if let Ok(bytes) = std::fs::read(path) {
        if let Ok(crl) = Crl::from_pem_or_der(&bytes) {
            if crl.next_update().is_some_and(|n| n.0 > now.0 + 7 * 86_400) {
                return Ok(crl);
            }
        }
    }
    let crl = empty_crl(issuer, key, now, CRL_DAYS)?;
    crate::private::write(path, crl.to_pem().as_bytes())?;
    Ok(crl)
}
