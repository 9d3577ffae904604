use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use coffre_seal::{Certificate, Level, LocalTsa, SealConfig, SigningKey, TimeStamper};
use rayon::prelude::*;

use crate::files;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("output").required(true).args(["out", "out_dir"])))]
pub struct Args {
    #[command(flatten)]
    seal_key: SealKey,
    #[arg(long, value_enum, default_value_t = LevelArg::BB)]
    level: LevelArg,
    /// Time-stamp with a local TSA key (with --tsa-cert)
    #[arg(long, requires = "tsa_cert", conflicts_with = "tsa_url")]
    tsa_key: Option<PathBuf>,
    /// The local TSA's certificate, then its issuers (PEM)
    #[arg(long, requires = "tsa_key")]
    tsa_cert: Option<PathBuf>,
    /// Time-stamp with an RFC 3161 server over HTTP
    #[arg(long)]
    tsa_url: Option<String>,
    /// CRLs to embed at level b-lt (PEM or DER)
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// Certify the document (DocMDP: only form filling and signing remain allowed)
    #[arg(long)]
    certify: bool,
    /// Reason written in the seal
    #[arg(long)]
    reason: Option<String>,
    /// Output file (one input)
    #[arg(short = 'o', long)]
    out: Option<PathBuf>,
    /// Output folder (any number of inputs; same file names)
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// PDF files to seal
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// The organisation's seal key and certificates, as `coffre seal` and
/// `coffre org deposit` take them.
#[derive(Debug, clap::Args)]
pub struct SealKey {
    /// The organisation's seal key (PEM, PKCS#8 or SEC1, ECDSA P-256)
    #[arg(long)]
    key: PathBuf,
    /// The seal certificate (PEM)
    #[arg(long)]
    cert: PathBuf,
    /// Issuer certificates to embed (PEM, one or more)
    #[arg(long)]
    chain: Option<PathBuf>,
}

impl SealKey {
    /// The key, and the certificate followed by its issuers.
    pub fn load(&self) -> Result<(SigningKey, Vec<Certificate>)> {
        let key = files::key(&self.key)?;
        let mut chain = files::certs(&self.cert)?;
        if let Some(path) = &self.chain {
            chain.extend(files::certs(path)?);
        }
        Ok((key, chain))
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LevelArg {
    #[value(name = "b-b")]
    BB,
    #[value(name = "b-t")]
    BT,
    #[value(name = "b-lt")]
    BLt,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let (key, chain) = args.seal_key.load()?;
    let crls = files::crls(&args.crl)?;
    let level = match args.level {
        LevelArg::BB => Level::BB,
        LevelArg::BT => Level::BT,
        LevelArg::BLt => Level::BLt,
    };
    let local;
    let remote;
    let timestamper: Option<&dyn TimeStamper> = match (&args.tsa_key, &args.tsa_cert, &args.tsa_url)
    {
        (Some(k), Some(c), _) => {
            let tsa_key = files::key(k)?;
            let mut tsa_chain = files::certs(c)?;
            // The TSA's issuers, when they are the seal's too, go in its tokens.
            complete_chain(&mut tsa_chain, &chain);
            local = LocalTsa::new(tsa_key, tsa_chain, crate::now)
                .context("setting up the local TSA")?;
            Some(&local)
        }
        (_, _, Some(url)) => {
            remote = HttpTsa::new(url.clone());
            Some(&remote)
        }
        _ => None,
    };
    if level != Level::BB && timestamper.is_none() {
        bail!("levels b-t and b-lt need --tsa-key/--tsa-cert or --tsa-url");
    }
    let cfg = SealConfig {
        key: &key,
        chain,
        level,
        time: crate::now(),
        timestamper,
        crls,
        certify: args.certify,
        reason: args.reason.clone(),
    };

    let jobs: Vec<(PathBuf, PathBuf)> = match (&args.out, &args.out_dir) {
        (Some(out), _) => {
            if args.files.len() != 1 {
                bail!("-o takes exactly one input file; use --out-dir for several");
            }
            vec![(args.files[0].clone(), out.clone())]
        }
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            args.files
                .iter()
                .map(|f| {
                    let name = f
                        .file_name()
                        .with_context(|| format!("{} is not a file name", f.display()))?;
                    Ok((f.clone(), dir.join(name)))
                })
                .collect::<Result<_>>()?
        }
        (None, None) => bail!("give -o OUT.pdf or --out-dir DIR"),
    };
    let failures: Vec<String> = jobs
        .par_iter()
        .filter_map(|(input, output)| {
            seal_file(&cfg, input, output)
                .err()
                .map(|e| format!("{}: {e:#}", input.display()))
        })
        .collect();
    for f in &failures {
        eprintln!("coffre: {f}");
    }
    let sealed = jobs.len() - failures.len();
    if jobs.len() > 1 {
        eprintln!("sealed {sealed} of {} documents", jobs.len());
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn seal_file(cfg: &SealConfig<'_>, input: &Path, output: &Path) -> Result<()> {
    let pdf = std::fs::read(input).context("reading")?;
    let sealed = coffre_seal::seal(&pdf, cfg).context("sealing")?;
    let tmp = output.with_extension("pdf.partial");
    std::fs::write(&tmp, &sealed).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, output).with_context(|| format!("writing {}", output.display()))?;
    Ok(())
}

/// Appends from `pool` the issuers `chain` lacks, up to a self-signed root.
fn complete_chain(chain: &mut Vec<Certificate>, pool: &[Certificate]) {
    while let Some(last) = chain.last() {
        if last.is_self_issued() {
            break;
        }
        let Some(issuer) = pool
            .iter()
            .find(|c| last.is_issued_by(c) && !chain.contains(c))
        else {
            break;
        };
        chain.push(issuer.clone());
    }
}

/// An RFC 3161 server reached over HTTP(S).
#[derive(Clone)]
pub(crate) struct HttpTsa {
    url: String,
    /// Kept connections: one sealing thread reuses its connection for
    /// every time-stamp it asks for.
    agent: ureq::Agent,
}

impl HttpTsa {
    pub(crate) fn new(url: String) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .max_idle_connections_per_host(64)
            .build();
        HttpTsa { url, agent }
    }
}

impl TimeStamper for HttpTsa {
    fn timestamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, coffre_seal::Error> {
        let nonce =
            u64::from_be_bytes(digest[..8].try_into().unwrap_or_default()) ^ crate::now().0 as u64;
        let req = coffre_seal::timestamp_request(digest, nonce)?;
        let tsa_err = |e: String| coffre_seal::Error::Tsa(e);
        // A dropped connection or a failing server is tried again, briefly.
        let mut waits = [500, 1000, 2000].into_iter();
        let resp = loop {
            let sent = self
                .agent
                .post(&self.url)
                .set("Content-Type", "application/timestamp-query")
                .send_bytes(&req);
            match sent {
                Ok(resp) => break resp,
                Err(ureq::Error::Status(code, _)) if code < 500 && code != 429 => {
                    return Err(tsa_err(format!("{}: HTTP status {code}", self.url)));
                }
                Err(e) => match waits.next() {
                    Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
                    None => return Err(tsa_err(format!("{}: {e}", self.url))),
                },
            }
        };
        let mut body = Vec::new();
        resp.into_reader()
            .take(1 << 20)
            .read_to_end(&mut body)
            .map_err(|e| tsa_err(format!("{}: {e}", self.url)))?;
        coffre_seal::token_from_response(&body, digest)
    }
}
