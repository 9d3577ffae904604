use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use coffre_server::{AppState, ServerConfig};

/// Where the service's data lives (shared by `serve` and `admin`).
#[derive(Debug, clap::Args)]
pub struct StorageArgs {
    /// Data directory: SQLite database, blobs, outbox, operator keys
    #[arg(long, default_value = "coffre-data")]
    data_dir: PathBuf,
    /// PostgreSQL instead of SQLite: postgres://user@host/db
    #[arg(long, env = "COFFRE_DATABASE_URL")]
    database_url: Option<String>,
    /// An S3 bucket instead of DATA_DIR/blobs: s3://bucket?endpoint=…&region=…
    #[arg(long, env = "COFFRE_BLOB_URL")]
    blob_url: Option<String>,
    /// SMTP instead of .eml files in DATA_DIR/outbox: smtps://user:pass@host (TLS),
    /// smtp://user:pass@host:587?tls=required (STARTTLS), smtp://host:port (plain)
    #[arg(long, env = "COFFRE_SMTP_URL")]
    smtp_url: Option<String>,
    /// Age in seconds after which a blob no document names is deleted
    #[arg(long, default_value_t = 3600)]
    orphan_grace: u64,
}

impl StorageArgs {
    fn config(&self, listen: SocketAddr) -> ServerConfig {
        ServerConfig {
            data_dir: self.data_dir.clone(),
            listen,
            database_url: self.database_url.clone(),
            blob_url: self.blob_url.clone(),
            smtp_url: self.smtp_url.clone(),
            orphan_grace: self.orphan_grace,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    storage: StorageArgs,
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seed a demo university with three students and sealed documents
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Support requests of students who lost their sign-in address
    Support {
        #[command(subcommand)]
        command: SupportCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SupportCommand {
    /// Open requests, with the safes they match
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// E-mail an answer to every address the student gave, and close the request
    Answer {
        #[command(flatten)]
        storage: StorageArgs,
        id: i64,
        #[arg(long)]
        message: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Register an organisation, issue its seal certificate and print its API key
    Create {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        name: String,
        /// The organisation's e-mail domains (refused as personal addresses)
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        /// Where to write the seal key and certificates
        #[arg(long)]
        out: PathBuf,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let config = args.storage.config(args.listen);
        let state = AppState::open(&config, coffre_server::system_clock()).await?;
        if args.demo {
            let demo = coffre_server::demo::seed(&state).await?;
            println!("Demo university: {}", coffre_server::demo::DEMO_UNIVERSITY);
            println!("  organisation API key: {}", demo.api_key);
            if demo.students.is_empty() {
                println!("  every demo student has finalised a safe: sign in with their e-mail and password");
            } else {
                println!("  students still to finalise (number, name, activation code):");
            }
            for (number, name, code) in &demo.students {
                println!("    {number}  {name:<16}  {code}");
            }
        }
        println!(
            "Data in {}; e-mails (with their codes) in {}",
            config.data_dir.display(),
            config.data_dir.join("outbox").display()
        );
        coffre_server::serve(state, config.listen, config.orphan_grace).await?;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn admin(cmd: AdminCommand) -> Result<ExitCode> {
    match cmd {
        AdminCommand::Support {
            command: SupportCommand::List { storage },
        } => runtime()?.block_on(async {
            let state = open(&storage).await?;
            let open = coffre_server::support::open_requests(&state).await?;
            if open.is_empty() {
                println!("No open support request.");
            }
            for r in open {
                println!(
                    "#{}  {}  {}, student {}",
                    r.id, r.who, r.university, r.student_number
                );
                println!("    possible addresses: {}", r.possible_emails.join(", "));
                if !r.message.is_empty() {
                    println!("    message: {}", r.message);
                }
                if r.matches.is_empty() {
                    println!("    matches: none");
                }
                for m in r.matches {
                    println!("    matches: {m}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }),
        AdminCommand::Support {
            command:
                SupportCommand::Answer {
                    storage,
                    id,
                    message,
                },
        } => runtime()?.block_on(async {
            let state = open(&storage).await?;
            let sent = coffre_server::support::answer(&state, id, &message).await?;
            println!("Request #{id} answered ({sent} e-mails).");
            Ok(ExitCode::SUCCESS)
        }),
        AdminCommand::Org {
            command:
                OrgCommand::Create {
                    storage,
                    name,
                    domains,
                    out,
                },
        } => runtime()?.block_on(async {
            let config = storage.config(SocketAddr::from(([127, 0, 0, 1], 0)));
            let state = AppState::open(&config, coffre_server::system_clock()).await?;
            let org = coffre_server::orgs::create(&state, &name, &domains).await?;
            write_org(&out, &org)?;
            println!("Organisation {name} created.");
            println!("  seal key and certificates: {}", out.display());
            println!("  API key (shown once, keep it secret): {}", org.api_key);
            Ok(ExitCode::SUCCESS)
        }),
    }
}

async fn open(storage: &StorageArgs) -> Result<AppState> {
    let config = storage.config(SocketAddr::from(([127, 0, 0, 1], 0)));
    AppState::open(&config, coffre_server::system_clock()).await
}

fn write_org(dir: &Path, org: &coffre_server::orgs::NewOrganisation) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let chain: String = org
        .chain
        .iter()
        .map(coffre_seal::Certificate::to_pem)
        .collect();
    for (name, text) in [
        ("seal.key.pem", org.seal_key.to_pem()),
        ("seal.pem", org.seal_cert.to_pem()),
        ("chain.pem", chain),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
