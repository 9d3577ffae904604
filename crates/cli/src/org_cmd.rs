//! `coffre org`: the university's side from the command line — rosters,
//! refusals, former students, activation codes, statuses, test data.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use coffre_api::{AccountState, AccountStatus, Client};

use crate::term::printable;

// Sample documents until crates/print draws real ones.
use coffre_print::sample;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Coffre server, e.g. https://coffre.example
    #[arg(long, env = "COFFRE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The organisation's API key
    #[arg(long, env = "COFFRE_ORG_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    #[command(subcommand)]
    command: Command,
}

pub use crate::deposit::DepositArgs;

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a whole roster, then pre-create the safes and write the activation codes
    ImportRoster {
        /// CSV: student_number,last_name,first_name,birth_date,institutional_email[,refused]
        file: PathBuf,
        /// Where the codes go (default: FILE-codes.csv)
        #[arg(long)]
        codes: Option<PathBuf>,
    },
    /// Record written refusals (or revoked consents)
    Refuse { students: Vec<String> },
    /// Mark students as former students
    Former { students: Vec<String> },
    /// A new activation code for a safe not yet finalised
    ReissueCode { student: String },
    /// Account statuses
    Status {
        students: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Seal and deposit the documents of a manifest; safe to run again after an interruption
    Deposit(DepositArgs),
    /// Write a sample transcript (~120 KB, with a logo) per roster row, and their manifest
    SampleTranscripts { roster: PathBuf, dir: PathBuf },
    /// Write a realistic sample roster of N students (for tests and demos)
    SampleRoster {
        count: usize,
        #[arg(short = 'o', long, default_value = "roster.csv")]
        out: PathBuf,
    },
}

pub fn run(args: Args) -> Result<ExitCode> {
    if let Command::SampleTranscripts { roster, dir } = &args.command {
        return sample_transcripts(roster, dir);
    }
    if let Command::SampleRoster { count, out } = &args.command {
        std::fs::write(out, sample_roster(*count))
            .with_context(|| format!("writing {}", out.display()))?;
        println!("{count} students written to {}", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let key = args
        .api_key
        .clone()
        .context("give the organisation's API key with --api-key or COFFRE_ORG_API_KEY")?;
    let client = Client::new(&args.server)?.with_token(&key);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        match args.command {
            Command::ImportRoster { file, codes } => import_roster(&client, &file, codes).await,
            Command::Refuse { students } => each(&students, |s| client.refuse_student(s)).await,
            Command::Former { students } => each(&students, |s| client.mark_former(s)).await,
            Command::ReissueCode { student } => {
                let code = client.reissue_code(&student).await?;
                println!("{},{}", code.student_number, code.activation_code);
                Ok(ExitCode::SUCCESS)
            }
            Command::Status { students, json } => status(&client, &students, json).await,
            Command::SampleRoster { .. } | Command::SampleTranscripts { .. } => {
                Ok(ExitCode::SUCCESS)
            }
            Command::Deposit(d) => crate::deposit::run(&client, &args.server, d).await,
        }
    })
}

async fn import_roster(client: &Client, file: &Path, codes: Option<PathBuf>) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let rows = match coffre_api::roster::parse_roster(&text) {
        Ok(rows) => rows,
        Err(errors) => {
            eprintln!(
                "{}: {} bad rows; nothing was imported:",
                file.display(),
                errors.len()
            );
            for e in &errors {
                eprintln!("  {e}");
            }
            return Ok(ExitCode::from(1));
        }
    };
    if rows.is_empty() {
        bail!("{} has no student", file.display());
    }
    let imported = client.import_roster(text).await?;
    let codes = codes.unwrap_or_else(|| {
        let stem = file
            .file_stem()
            .map_or("roster".into(), |s| s.to_string_lossy().into_owned());
        file.with_file_name(format!("{stem}-codes.csv"))
    });
    let mut csv = String::from("student_number,activation_code\n");
    for c in &imported.created {
        csv.push_str(&format!("{},{}\n", c.student_number, c.activation_code));
    }
    if !imported.created.is_empty() {
        std::fs::write(&codes, csv).with_context(|| format!("writing {}", codes.display()))?;
    }
    println!(
        "{} safes pre-created, {} refusals recorded, {} unchanged",
        imported.created.len(),
        imported.refused.len(),
        imported.unchanged.len()
    );
    if !imported.created.is_empty() {
        println!("activation codes for the intranet: {}", codes.display());
    }
    Ok(ExitCode::SUCCESS)
}

async fn each<'a, F, Fut>(students: &'a [String], call: F) -> Result<ExitCode>
where
    F: Fn(&'a str) -> Fut,
    Fut: std::future::Future<Output = coffre_api::Result<AccountStatus>>,
{
    let mut failed = false;
    for s in students {
        match call(s).await {
            Ok(st) => println!("{}: {}", printable(s), describe(&st)),
            Err(e) => {
                failed = true;
                eprintln!("{}: {}", printable(s), printable(&e.to_string()));
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn status(client: &Client, students: &[String], json: bool) -> Result<ExitCode> {
    let mut all = Vec::new();
    for s in students {
        all.push(client.student_status(s).await?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        println!(
            "{:<14} {:<16} {:<8} sign-in address",
            "student", "status", "former"
        );
        for st in &all {
            println!(
                "{:<14} {:<16} {:<8} {}",
                printable(&st.student_number),
                state_name(st.status),
                if st.former { "yes" } else { "no" },
                printable(st.masked_email.as_deref().unwrap_or("-"))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn state_name(s: AccountState) -> &'static str {
    match s {
        AccountState::NotProvisioned => "not_provisioned",
        AccountState::PreCreated => "pre_created",
        AccountState::Refused => "refused",
        AccountState::Finalised => "finalised",
    }
}

fn describe(st: &AccountStatus) -> String {
    format!(
        "{}{}",
        state_name(st.status),
        if st.former { ", former student" } else { "" }
    )
}

/// One transcript per roster row (refused rows included: the deposit will
/// report them), and `manifest.csv` for `coffre org deposit`.
fn sample_transcripts(roster: &Path, dir: &Path) -> Result<ExitCode> {
    use rayon::prelude::*;
    let text =
        std::fs::read_to_string(roster).with_context(|| format!("reading {}", roster.display()))?;
    let rows = match coffre_api::roster::parse_roster(&text) {
        Ok(r) => r,
        Err(errors) => bail!("{}: {}", roster.display(), errors.join("; ")),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    rows.par_iter().enumerate().try_for_each(|(i, r)| {
        let pdf = sample::transcript_pdf(i as u64, &format!("{} {}", r.first_name, r.last_name));
        let path = dir.join(format!("transcript-{}.pdf", r.student_number));
        std::fs::write(&path, pdf).with_context(|| format!("writing {}", path.display()))
    })?;
    let mut manifest = String::from("student_number,file,kind,title,academic_year\n");
    for r in &rows {
        manifest.push_str(&format!(
            "{0},transcript-{0}.pdf,transcript,Relevé de notes / Transcript 2025-2026,2025-2026\n",
            r.student_number
        ));
    }
    let path = dir.join("manifest.csv");
    std::fs::write(&path, manifest).with_context(|| format!("writing {}", path.display()))?;
    println!("{} transcripts and {} written", rows.len(), path.display());
    Ok(ExitCode::SUCCESS)
}

/// Deterministic, realistic rows: French first and last names, birth dates
/// in 1998–2007, institutional addresses.
pub fn sample_roster(count: usize) -> String {
    const FIRST: [&str; 24] = [
        "Camille", "Lucas", "Inès", "Hugo", "Léa", "Louis", "Chloé", "Gabriel", "Manon", "Jules",
        "Emma", "Arthur", "Sarah", "Nathan", "Zoé", "Raphaël", "Jade", "Adam", "Lina", "Théo",
        "Alice", "Noah", "Rose", "Mathis",
    ];
    const LAST: [&str; 24] = [
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
        "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
    ];
    let mut out =
        String::from("student_number,last_name,first_name,birth_date,institutional_email\n");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..count {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let first = FIRST[(x % 24) as usize];
        let last = LAST[((x >> 8) % 24) as usize];
        let (y, m, d) = (
            1998 + (x >> 16) % 10,
            1 + (x >> 24) % 12,
            1 + (x >> 32) % 28,
        );
        let ascii = |s: &str| -> String {
            s.chars()
                .map(|c| match c {
                    'é' | 'è' => 'e',
                    'ï' => 'i',
                    'ë' => 'e',
                    c => c,
                })
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_lowercase()
        };
        out.push_str(&format!(
            "{:08},{last},{first},{y:04}-{m:02}-{d:02},{}.{}{}@etu.univ-demo.example\n",
            21_000_000 + i,
            ascii(first),
            ascii(last),
            i
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_rosters_are_valid_rosters() {
        let text = sample_roster(500);
        let rows = coffre_api::roster::parse_roster(&text).unwrap();
        assert_eq!(rows.len(), 500);
        assert_eq!(sample_roster(500), text, "deterministic");
    }
}
