//! `coffre`: seal and verify documents, and manage a PKI.

#![forbid(unsafe_code)]

mod deposit;
mod files;
mod org_cmd;
mod pki_cmd;
mod print_cmd;
mod seal_cmd;
mod serve_cmd;
mod term;
mod verify_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "coffre",
    version,
    about = "Coffre: a digital safe for students' sealed documents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Seal PDF documents (PAdES B-B, B-T or B-LT)
    Seal(seal_cmd::Args),
    /// Verify the seals of PDF documents, offline
    Verify(verify_cmd::Args),
    /// A printable copy of a sealed PDF: its pages marked COPIE, then a
    /// certificate of originality with a QR code anyone can check
    Print(print_cmd::PrintArgs),
    /// Check a printed copy's QR code (its text or a scan), offline
    CheckCopy(print_cmd::CheckArgs),
    /// The university's side: rosters, deposits, statuses
    Org(org_cmd::Args),
    /// Run the safe service (SQLite and a local folder unless told otherwise)
    Serve(serve_cmd::ServeArgs),
    /// Operator tasks
    Admin {
        #[command(subcommand)]
        command: serve_cmd::AdminCommand,
    },
    /// Test and demo PKI
    Pki {
        #[command(subcommand)]
        command: pki_cmd::Command,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    let result = match cli.command {
        Command::Seal(args) => seal_cmd::run(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::Print(args) => print_cmd::print(args),
        Command::CheckCopy(args) => print_cmd::check(args),
        Command::Pki { command } => pki_cmd::run(command),
        Command::Serve(args) => serve_cmd::serve(args),
        Command::Org(args) => org_cmd::run(args),
        Command::Admin { command } => serve_cmd::admin(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "coffre: error: {}",
                term::printable_lines(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

/// Now, from the system clock.
pub(crate) fn now() -> coffre_seal::UnixTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    coffre_seal::UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
}
