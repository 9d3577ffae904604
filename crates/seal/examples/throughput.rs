//! Sample PDFs and in-process seal/verify throughput, for `cargo xtask`.
//!
//! ```text
//! throughput --generate DIR N [--small]
//! throughput --seal DIR_IN DIR_OUT --key KEY.pem --cert CERT.pem [--chain CHAIN.pem]
//!            [--level b-b|b-t|b-lt] [--tsa-key KEY.pem --tsa-cert CERT.pem] [--crl FILE]...
//! throughput --verify DIR [--trust ROOT.pem]... [--crl FILE]...
//! throughput --floor DIR
//! ```
//!
//! `--generate` writes N transcripts (`transcript-NNN.pdf`, ~120 KB) or, with
//! `--small`, N tiny PDFs of 1..=N pages (`small-N.pdf`). `--seal` and
//! `--verify` read every `*.pdf` of a directory into memory, then loop over
//! them on one thread, again and again for at least two seconds, and print
//! `docs_per_s=<float>`. `--verify` fails unless every file is TOTAL_PASSED:
//! a fast "no" is no benchmark. `--floor` times the least any verifier of
//! those (time-stamped) seals must do: SHA-256 over the signed bytes and the
//! two P-256 verifications, seal and time-stamp, with `ring`, everything
//! else (parsing, finding the bytes) done before the clock starts.

use coffre_print::sample;

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coffre_seal::{
    seal, validate, Certificate, Crl, Level, LocalTsa, SealConfig, SigningKey, Status, UnixTime,
    ValidationConfig,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Long enough that timer resolution and warm-up do not matter.
const MIN_DURATION: Duration = Duration::from_secs(2);

const STUDENTS: [&str; 8] = [
    "Camille Dupont",
    "Lucas Martin",
    "Ines Bernard",
    "Hugo Petit",
    "Lea Moreau",
    "Nathan Laurent",
    "Chloe Garcia",
    "Yanis Lefebvre",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("throughput: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let opts = Options::parse(args)?;
    match opts.mode.as_str() {
        "--generate" => generate(&opts),
        "--seal" => seal_all(&opts),
        "--verify" => verify_all(&opts),
        "--floor" => floor(&opts),
        other => Err(format!("unknown mode {other}").into()),
    }
}

/// The command line: a mode with its positional operands, then options.
#[derive(Debug, Default)]
struct Options {
    mode: String,
    operands: Vec<String>,
    key: Option<PathBuf>,
    cert: Option<PathBuf>,
    chain: Option<PathBuf>,
    level: Option<String>,
    tsa_key: Option<PathBuf>,
    tsa_cert: Option<PathBuf>,
    crls: Vec<PathBuf>,
    trust: Vec<PathBuf>,
    small: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let usage = "usage: throughput --generate DIR N [--small] | --seal DIR_IN DIR_OUT --key K \
                     --cert C [--chain CH] [--level L] [--tsa-key K --tsa-cert C] [--crl F]... | \
                     --verify DIR [--trust ROOT]... [--crl F]...";
        let mut args = args.iter();
        let mut opts = Options {
            mode: args.next().ok_or(usage)?.clone(),
            ..Options::default()
        };
        let operands = match opts.mode.as_str() {
            "--generate" | "--seal" => 2,
            "--verify" | "--floor" => 1,
            _ => return Err(usage.into()),
        };
        for _ in 0..operands {
            opts.operands.push(args.next().ok_or(usage)?.clone());
        }
        while let Some(flag) = args.next() {
            if flag == "--small" {
                opts.small = true;
                continue;
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let path = PathBuf::from(value);
            match flag.as_str() {
                "--key" => opts.key = Some(path),
                "--cert" => opts.cert = Some(path),
                "--chain" => opts.chain = Some(path),
                "--level" => opts.level = Some(value.clone()),
                "--tsa-key" => opts.tsa_key = Some(path),
                "--tsa-cert" => opts.tsa_cert = Some(path),
                "--crl" => opts.crls.push(path),
                "--trust" => opts.trust.push(path),
                _ => return Err(format!("unknown option {flag}\n{usage}").into()),
            }
        }
        Ok(opts)
    }
}

fn generate(opts: &Options) -> Result<()> {
    let dir = Path::new(&opts.operands[0]);
    let count: usize = opts.operands[1]
        .parse()
        .map_err(|_| format!("not a count: {}", opts.operands[1]))?;
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for i in 0..count {
        let (name, pdf) = if opts.small {
            (format!("small-{}.pdf", i + 1), sample::small_pdf(i + 1))
        } else {
            let student = STUDENTS[i % STUDENTS.len()];
            (
                format!("transcript-{i:03}.pdf"),
                sample::transcript_pdf(i as u64, student),
            )
        };
        let path = dir.join(name);
        fs::write(&path, pdf).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

fn seal_all(opts: &Options) -> Result<()> {
    let (input, output) = (Path::new(&opts.operands[0]), Path::new(&opts.operands[1]));
    let key = SigningKey::from_pem(&read_text(opts.key.as_deref(), "--key")?)
        .map_err(|e| format!("reading the signing key: {e}"))?;
    let mut chain = Certificate::from_pem_chain(&read_text(opts.cert.as_deref(), "--cert")?)
        .map_err(|e| format!("reading the certificate: {e}"))?;
    if let Some(path) = &opts.chain {
        chain.extend(
            Certificate::from_pem_chain(&read_text(Some(path), "--chain")?)
                .map_err(|e| format!("reading the chain: {e}"))?,
        );
    }
    let level = match opts.level.as_deref().unwrap_or("b-b") {
        "b-b" => Level::BB,
        "b-t" => Level::BT,
        "b-lt" => Level::BLt,
        other => return Err(format!("unknown level {other} (b-b, b-t or b-lt)").into()),
    };
    let tsa = match (&opts.tsa_key, &opts.tsa_cert) {
        (Some(k), Some(c)) => Some(
            LocalTsa::new(
                SigningKey::from_pem(&read_text(Some(k), "--tsa-key")?)
                    .map_err(|e| format!("reading the TSA key: {e}"))?,
                Certificate::from_pem_chain(&read_text(Some(c), "--tsa-cert")?)
                    .map_err(|e| format!("reading the TSA certificate: {e}"))?,
                || now().unwrap_or(UnixTime(0)),
            )
            .map_err(|e| format!("setting up the TSA: {e}"))?,
        ),
        (None, None) => None,
        _ => return Err("--tsa-key and --tsa-cert go together".into()),
    };
    let config = SealConfig {
        key: &key,
        chain,
        level,
        time: now()?,
        timestamper: tsa.as_ref().map(|t| t as &dyn coffre_seal::TimeStamper),
        crls: read_crls(&opts.crls)?,
        certify: false,
        reason: None,
    };

    let documents = read_pdfs(input)?;
    let mut sealed = Vec::with_capacity(documents.len());
    let rate = repeat(documents.len(), |pass| {
        for (path, pdf) in &documents {
            let out = seal(pdf, &config).map_err(|e| format!("sealing {}: {e}", path.display()))?;
            if pass == 0 {
                sealed.push(out);
            }
        }
        Ok(())
    })?;

    fs::create_dir_all(output).map_err(|e| format!("creating {}: {e}", output.display()))?;
    for ((path, _), pdf) in documents.iter().zip(&sealed) {
        let name = path.file_name().ok_or("a file without a name")?;
        let out = output.join(name);
        fs::write(&out, pdf).map_err(|e| format!("writing {}: {e}", out.display()))?;
    }
    println!("docs_per_s={rate:.1}");
    Ok(())
}

fn verify_all(opts: &Options) -> Result<()> {
    let mut anchors = Vec::new();
    for path in &opts.trust {
        anchors.extend(
            Certificate::from_pem_chain(&read_text(Some(path), "--trust")?)
                .map_err(|e| format!("reading {}: {e}", path.display()))?,
        );
    }
    let config = ValidationConfig::new(anchors, read_crls(&opts.crls)?, now()?);
    let documents = read_pdfs(Path::new(&opts.operands[0]))?;
    let rate = repeat(documents.len(), |pass| {
        for (path, pdf) in &documents {
            let report = validate(pdf, &config)
                .map_err(|e| format!("validating {}: {e}", path.display()))?;
            if pass == 0 && report.status() != Status::TotalPassed {
                return Err(format!("{} is not TOTAL_PASSED: {report:?}", path.display()).into());
            }
        }
        Ok(())
    })?;
    println!("docs_per_s={rate:.1}");
    Ok(())
}

/// A signature to check: message, signature value, public key.
type Check = (Vec<u8>, Vec<u8>, Vec<u8>);

/// What one seal's verification cannot do without: the signed bytes, and
/// two signatures.
struct Floor {
    pdf: Vec<u8>,
    gap: (usize, usize),
    end: usize,
    checks: Vec<Check>,
}

fn floor(opts: &Options) -> Result<()> {
    let documents = read_pdfs(Path::new(&opts.operands[0]))?;
    let floors: Vec<Floor> = documents
        .into_iter()
        .map(|(path, pdf)| floor_of(pdf).map_err(|e| format!("{}: {e}", path.display()).into()))
        .collect::<Result<_>>()?;
    let rate = repeat(floors.len(), |_| {
        for f in &floors {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            ctx.update(&f.pdf[..f.gap.0]);
            ctx.update(&f.pdf[f.gap.1..f.end]);
            std::hint::black_box(ctx.finish());
            for (msg, sig, key) in &f.checks {
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::ECDSA_P256_SHA256_ASN1,
                    key,
                )
                .verify(msg, sig)
                .map_err(|_| "a floor signature does not verify")?;
            }
        }
        Ok(())
    })?;
    println!("docs_per_s={rate:.1}");
    Ok(())
}

/// Reads a seal's byte range, its signed attributes, signature and
/// signer's key, and the same of its time-stamp token.
fn floor_of(pdf: Vec<u8>) -> std::result::Result<Floor, String> {
    use der::{Decode, Encode};
    let at = find(&pdf, b"/ByteRange").ok_or("no /ByteRange")?;
    let open = at + find(&pdf[at..], b"[").ok_or("bad /ByteRange")?;
    let close = open + find(&pdf[open..], b"]").ok_or("bad /ByteRange")?;
    let nums: Vec<usize> = std::str::from_utf8(&pdf[open + 1..close])
        .map_err(|_| "bad /ByteRange")?
        .split_whitespace()
        .map(|n| n.parse().map_err(|_| "bad /ByteRange"))
        .collect::<std::result::Result<_, _>>()?;
    let [_, b, c, d] = <[usize; 4]>::try_from(nums).map_err(|_| "bad /ByteRange")?;
    let hex = &pdf[b + 1..c - 1];
    let cms: Vec<u8> = hex
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("zz"), 16))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| "bad /Contents")?;
    let triple = |der: &[u8]| -> std::result::Result<(Check, Option<Vec<u8>>), String> {
        let mut r = der::SliceReader::new(der).map_err(|e| e.to_string())?;
        let ci = cms::content_info::ContentInfo::decode(&mut r).map_err(|e| e.to_string())?;
        let sd: cms::signed_data::SignedData = ci.content.decode_as().map_err(|e| e.to_string())?;
        let si = sd.signer_infos.0.iter().next().ok_or("no signer")?;
        let msg = si
            .signed_attrs
            .as_ref()
            .ok_or("no signed attributes")?
            .to_der()
            .map_err(|e| e.to_string())?;
        // The signer's certificate: a SET is sorted, the signer need not
        // come first.
        let serial = match &si.sid {
            cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(isn) => {
                isn.serial_number.clone()
            }
            _ => return Err("signer named by key identifier".into()),
        };
        let cert = sd
            .certificates
            .iter()
            .flat_map(|c| c.0.iter())
            .find_map(|c| match c {
                cms::cert::CertificateChoices::Certificate(c)
                    if c.tbs_certificate.serial_number == serial =>
                {
                    Some(c.clone())
                }
                _ => None,
            })
            .ok_or("no signer certificate")?;
        let key = cert
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
            .to_vec();
        let token = si
            .unsigned_attrs
            .iter()
            .flat_map(|a| a.iter())
            .find_map(|a| {
                (a.oid.to_string() == "1.2.840.113549.1.9.16.2.14")
                    .then(|| a.values.iter().next().and_then(|v| v.to_der().ok()))
                    .flatten()
            });
        Ok(((msg, si.signature.as_bytes().to_vec(), key), token))
    };
    let (seal, token) = triple(&cms)?;
    let token = token.ok_or("the seal has no time-stamp: the floor is for B-T and B-LT")?;
    let (stamp, _) = triple(&token)?;
    Ok(Floor {
        gap: (b, c),
        end: c + d,
        checks: vec![seal, stamp],
        pdf,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Runs `pass` (over `docs` documents) until MIN_DURATION has gone by, at
/// least once, and returns documents per second.
fn repeat(docs: usize, mut pass: impl FnMut(usize) -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    let mut passes = 0;
    while passes == 0 || start.elapsed() < MIN_DURATION {
        pass(passes)?;
        passes += 1;
    }
    Ok((docs * passes) as f64 / start.elapsed().as_secs_f64())
}

fn read_pdfs(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "pdf"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no PDF in {}", dir.display()).into());
    }
    paths
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).map_err(|e| format!("reading {}: {e}", p.display()))?;
            Ok((p, bytes))
        })
        .collect()
}

fn read_crls(paths: &[PathBuf]) -> Result<Vec<Crl>> {
    paths
        .iter()
        .map(|p| {
            let bytes = fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
            Crl::from_pem_or_der(&bytes)
                .map_err(|e| format!("reading the CRL {}: {e}", p.display()).into())
        })
        .collect()
}

fn read_text(path: Option<&Path>, flag: &str) -> Result<String> {
    let path = path.ok_or_else(|| format!("{flag} is required"))?;
    fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()).into())
}

fn now() -> Result<UnixTime> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970")?
        .as_secs();
    Ok(UnixTime(i64::try_from(secs)?))
}
