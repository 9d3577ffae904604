use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use coffre_seal::pki::DemoPki;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a demo PKI (root, intermediate, seal and TSA certificates, CRLs) into DIR
    Init {
        dir: PathBuf,
        /// The organisation the seal certificate is issued to
        #[arg(long, default_value = "Université Démo")]
        org: String,
    },
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Init { dir, org } => {
            let pki = DemoPki::generate(&org, crate::now()).context("generating the PKI")?;
            write_pki(&pki, &dir)?;
            println!("PKI written to {}", dir.display());
            println!("  trust anchor: {}", dir.join("root.pem").display());
            println!(
                "  seal:         {} + {}",
                dir.join("seal.pem").display(),
                dir.join("seal.key.pem").display()
            );
            println!(
                "  TSA:          {} + {}",
                dir.join("tsa.pem").display(),
                dir.join("tsa.key.pem").display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn write_pki(pki: &DemoPki, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let files = [
        ("root.pem", pki.root.to_pem()),
        ("root.key.pem", pki.root_key.to_pem()),
        ("intermediate.pem", pki.intermediate.to_pem()),
        ("intermediate.key.pem", pki.intermediate_key.to_pem()),
        ("seal.pem", pki.seal.to_pem()),
        ("seal.key.pem", pki.seal_key.to_pem()),
        (
            "chain.pem",
            format!("{}{}", pki.intermediate.to_pem(), pki.root.to_pem()),
        ),
        ("tsa.pem", pki.tsa.to_pem()),
        ("tsa.key.pem", pki.tsa_key.to_pem()),
        (
            "tsa-chain.pem",
            format!("{}{}", pki.intermediate.to_pem(), pki.root.to_pem()),
        ),
        ("crl.pem", pki.crl.to_pem()),
        ("root.crl.pem", pki.root_crl.to_pem()),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
