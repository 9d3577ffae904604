use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use coffre_server::{Access, AppState, ServerConfig};

use crate::term::printable;

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
    /// The key tokens and codes are stored under, as 64 hex digits; keep it
    /// apart from the database (default: DATA_DIR/secret.key, made on the
    /// first start)
    #[arg(long, env = "COFFRE_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// A file holding that key instead (made 0600 if missing)
    #[arg(long, conflicts_with = "secret")]
    secret_file: Option<PathBuf>,
}

impl StorageArgs {
    fn config(&self, listen: SocketAddr) -> ServerConfig {
        let mut config = ServerConfig::new(self.data_dir.clone());
        config.listen = listen;
        config.database_url = self.database_url.clone();
        config.blob_url = self.blob_url.clone();
        config.smtp_url = self.smtp_url.clone();
        config.orphan_grace = self.orphan_grace;
        config.secret_hex = self.secret.clone();
        config.secret_file = self.secret_file.clone();
        config
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
    /// Serve HTTPS with this PEM certificate chain (with --tls-key); adds HSTS
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A reverse proxy (address or network, e.g. 10.0.0.0/8) whose
    /// X-Forwarded-For and X-Forwarded-Proto are believed; repeatable
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<String>,
    /// The address people reach this service at (https://coffre.example):
    /// printed copies' QR codes point there (default: http:// and --listen)
    #[arg(long, env = "COFFRE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Connections open at once (default: below the open-file limit)
    #[arg(long)]
    max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers (also the wait
    /// for the next request on a kept connection)
    #[arg(long, default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a connection may move no byte while reading or writing
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// Log lines as text or JSON (one object a line); RUST_LOG filters them
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// The operator's PKI, with its root kept offline
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
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
pub enum OperatorCommand {
    /// Make the PKI: the root's key goes to --root-dir (removable media),
    /// never into the data directory; the server keeps the seal CA, the TSA
    /// and a root-signed CRL
    Init {
        #[arg(long, default_value = "coffre-data")]
        data_dir: PathBuf,
        /// Where to write root.key.pem and root.pem (an empty folder)
        #[arg(long)]
        root_dir: PathBuf,
        /// Days the root's CRL stays valid
        #[arg(long, default_value_t = coffre_server::operator::ROOT_CRL_DAYS)]
        crl_days: i64,
    },
    /// Sign the root's next CRL (before the current one expires)
    RootCrl {
        #[arg(long, default_value = "coffre-data")]
        data_dir: PathBuf,
        /// The root's private key (from the offline media)
        #[arg(long)]
        root_key: PathBuf,
        #[arg(long, default_value_t = coffre_server::operator::ROOT_CRL_DAYS)]
        days: i64,
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

/// Logs to standard error; `RUST_LOG` filters (default `info`).
fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    coffre_server::private::restrict_new_files();
    init_logs(args.log_format);
    runtime()?.block_on(async {
        let mut config = args.storage.config(args.listen);
        config.trusted_proxies = args.trusted_proxies.clone();
        config.public_url = args.public_url.clone();
        if let Some(max) = args.max_connections {
            config.listen_config.max_connections = max;
        }
        config.listen_config.header_timeout = Duration::from_secs(args.header_timeout.max(1));
        config.listen_config.idle_timeout = Duration::from_secs(args.idle_timeout.max(1));
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
            config.listen_config.tls = Some(coffre_server::net::tls_config(&read(cert)?, &read(key)?)?);
        }
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
        match state.mailer.outbox() {
            Some(outbox) => println!(
                "Data in {}; e-mails (with their codes) in {}",
                config.data_dir.display(),
                outbox.display()
            ),
            None => println!("Data in {}", config.data_dir.display()),
        }
        coffre_server::serve(state, &config).await?;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn admin(cmd: AdminCommand) -> Result<ExitCode> {
    coffre_server::private::restrict_new_files();
    match cmd {
        AdminCommand::Operator {
            command:
                OperatorCommand::Init {
                    data_dir,
                    root_dir,
                    crl_days,
                },
        } => {
            coffre_server::private::create_dir(&data_dir)?;
            coffre_server::private::check_dir(&data_dir)?;
            coffre_server::operator::init_offline(&data_dir, &root_dir, crate::now(), crl_days)?;
            println!(
                "Operator PKI made in {}.",
                data_dir.join("operator").display()
            );
            println!(
                "  The root's key is in {}: store it offline (it is not in the data directory).",
                root_dir.join("root.key.pem").display()
            );
            println!(
                "  The root's CRL is valid for {crl_days} days: sign the next with coffre admin operator root-crl."
            );
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Operator {
            command:
                OperatorCommand::RootCrl {
                    data_dir,
                    root_key,
                    days,
                },
        } => {
            let pem = std::fs::read_to_string(&root_key)
                .with_context(|| format!("reading {}", root_key.display()))?;
            let until =
                coffre_server::operator::renew_root_crl(&data_dir, &pem, crate::now(), days)?;
            println!(
                "The root's CRL is renewed until {}; restart coffre serve to hand it out.",
                until.to_rfc3339()
            );
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Support {
            command: SupportCommand::List { storage },
        } => runtime()?.block_on(async {
            let state = open(&storage).await?;
            let open = coffre_server::support::open_requests(&state).await?;
            if open.is_empty() {
                println!("No open support request.");
            }
            // Everything but the id is what a stranger typed: shown with
            // its control characters escaped, so it cannot move the cursor,
            // clear the screen or fake lines.
            for r in open {
                println!(
                    "#{}  {}  {}, student {}",
                    r.id,
                    printable(&r.who),
                    printable(&r.university),
                    printable(&r.student_number)
                );
                println!(
                    "    possible addresses: {}",
                    printable(&r.possible_emails.join(", "))
                );
                if !r.message.is_empty() {
                    println!("    message: {}", printable(&r.message));
                }
                if r.matches.is_empty() {
                    println!("    matches: none");
                }
                for m in r.matches {
                    println!("    matches: {}", printable(&m));
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
            let state = open(&storage).await?;
            let org = coffre_server::orgs::create(&state, &name, &domains).await?;
            write_org(&out, &org)?;
            println!("Organisation {name} created.");
            println!("  seal key and certificates: {}", out.display());
            println!("  API key (shown once, keep it secret): {}", org.api_key);
            Ok(ExitCode::SUCCESS)
        }),
    }
}

/// The data directory beside a server that may be running: its lock and
/// its spool are left alone.
async fn open(storage: &StorageArgs) -> Result<AppState> {
    let config = storage.config(SocketAddr::from(([127, 0, 0, 1], 0)));
    AppState::open_for(&config, coffre_server::system_clock(), Access::Admin).await
}

/// The seal key and certificates, readable by their owner only (whoever
/// reads the key can seal as the organisation).
fn write_org(dir: &Path, org: &coffre_server::orgs::NewOrganisation) -> Result<()> {
    coffre_server::private::create_dir(dir)?;
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
        coffre_server::private::write(&dir.join(name), text.as_bytes())?;
    }
    Ok(())
}
