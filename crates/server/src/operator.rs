//! The operator's PKI: a root, a seal CA that issues each organisation's
//! seal certificate, and a time-stamping authority. Created on the first
//! start in a data directory, loaded afterwards.

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
    /// Shared by every deposit's validation, so the operator's certificate
    /// and CRL signatures are verified once, not once per deposit.
    validation: ValidationConfig,
}

impl Operator {
    /// Loads `DATA_DIR/operator/`, creating it on the first start.
    pub fn open(data_dir: &Path, clock: Clock) -> Result<Operator> {
        let dir = data_dir.join("operator");
        let now = clock();
        if !dir.join("root.pem").exists() {
            create(&dir, now)
                .with_context(|| format!("creating the operator PKI in {}", dir.display()))?;
        }
        let read = |name: &str| -> Result<String> {
            let p = dir.join(name);
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
        };
        let cert = |name: &str| -> Result<Certificate> {
            Ok(Certificate::from_pem_chain(&read(name)?)?.remove(0))
        };
        let root = cert("root.pem")?;
        let root_key = SigningKey::from_pem(&read("root.key.pem")?)?;
        let ca = cert("ca.pem")?;
        let ca_key = SigningKey::from_pem(&read("ca.key.pem")?)?;
        let tsa_cert = cert("tsa.pem")?;
        let tsa_key = SigningKey::from_pem(&read("tsa.key.pem")?)?;
        // CRLs are reissued when they would go stale within a week.
        let crls = vec![
            fresh_crl(&dir.join("ca.crl.pem"), &ca, &ca_key, now)?,
            fresh_crl(&dir.join("root.crl.pem"), &root, &root_key, now)?,
        ];
        let tsa = LocalTsa::new(
            tsa_key,
            vec![tsa_cert, ca.clone(), root.clone()],
            move || clock(),
        )?;
        let validation = ValidationConfig::new(vec![root.clone()], crls.clone(), now);
        Ok(Operator {
            root,
            ca,
            ca_key,
            crls,
            tsa,
            validation,
        })
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

fn create(dir: &Path, now: UnixTime) -> Result<()> {
    std::fs::create_dir_all(dir)?;
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
        &spec(Role::Intermediate, "Coffre Seal CA", 15),
    )?;
    let tsa_key = SigningKey::generate()?;
    let tsa = pki::issue(
        &ca,
        &ca_key,
        &tsa_key,
        &spec(Role::TimeStamping, "Coffre Time-Stamping Authority", 10),
    )?;
    let files: [(&str, String); 6] = [
        ("root.key.pem", root_key.to_pem()),
        ("ca.pem", ca.to_pem()),
        ("ca.key.pem", ca_key.to_pem()),
        ("tsa.pem", tsa.to_pem()),
        ("tsa.key.pem", tsa_key.to_pem()),
        // Last: its presence means the PKI is complete.
        ("root.pem", root.to_pem()),
    ];
    for (name, text) in files {
        write_private(&dir.join(name), &text)?;
    }
    Ok(())
}

fn fresh_crl(path: &PathBuf, issuer: &Certificate, key: &SigningKey, now: UnixTime) -> Result<Crl> {
    if let Ok(bytes) = std::fs::read(path) {
        if let Ok(crl) = Crl::from_pem_or_der(&bytes) {
            if crl.next_update().is_some_and(|n| n.0 > now.0 + 7 * 86_400) {
                return Ok(crl);
            }
        }
    }
    let crl = pki::crl(
        issuer,
        key,
        &[],
        UnixTime(now.0 - 3600),
        UnixTime(now.0 + CRL_DAYS * 86_400),
        now.0.max(1) as u64,
    )?;
    write_private(path, &crl.to_pem())?;
    Ok(crl)
}

/// Writes a file readable by its owner only (keys live here).
fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
