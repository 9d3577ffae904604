//! Documents (table `documents`): sealed deposits from organisations and
//! the student's own files.

use bytes::Bytes;
use std::collections::HashSet;

use coffre_api::{
    Deposit, DepositParams, DocumentFacets, DocumentInfo, DocumentKind, DocumentPage,
    DocumentQuery, DocumentSort, Facet, KnownDeposit, UploadParams,
};

use coffre_seal::Status;
use rand::Rng;
use sqlx::any::AnyRow;

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::orgs::Org;
use crate::AppState;

/// Largest deposit accepted: a sealed transcript is ~150 KB.
pub const MAX_DEPOSIT_BYTES: usize = 50 * 1024 * 1024;

/// Validates the seal, stores the blob, then records the deposit. The same
/// PDF deposited twice for a student is recorded once.
pub async fn deposit(
    state: &AppState,
    org: &Org,
    params: &DepositParams,
    pdf: Bytes,
) -> ApiResult<Deposit> {
    let title = params.title.trim();
    if title.is_empty() || title.len() > 300 {
        return Err(ApiError::Invalid(
            "A deposit needs a title of at most 300 characters.".into(),
        ));
    }
    let year = params.academic_year.trim();
    if !valid_academic_year(year) {
        return Err(ApiError::Invalid(format!(
            "academic_year {year:?} should look like 2025-2026"
        )));
    }
    if !pdf.starts_with(b"%PDF-") {
        return Err(ApiError::NotPdf);
    }
    let row = sqlx::query(
        "SELECT id, state, account_id FROM enrolments WHERE org_id = $1 AND student_number = $2",
    )
    .bind(org.id)
    .bind(params.student_number.trim())
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(|| ApiError::UnknownStudent(params.student_number.clone()))?;
    let enrolment_id: i64 = col(&row, "id")?;
    let account_id: Option<i64> = col(&row, "account_id")?;
    if col::<String>(&row, "state")? == "refused" {
        return Err(ApiError::StudentRefused(params.student_number.clone()));
    }

    // The seal must validate against the operator's root and be this
    // organisation's own.
    let config = state.operator.validation((state.clock)());
    let to_check = pdf.clone();
    let org_name = org.name.clone();
    tokio::task::spawn_blocking(move || check_seal(&to_check, &config, &org_name))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;

    let source = match &params.source_sha256 {
        Some(d) if d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(d.to_ascii_lowercase())
        }
        Some(_) => return Err(ApiError::Invalid("source_sha256 is 64 hex digits".into())),
        None => None,
    };
    // From here the work finishes even if the caller goes away: a row that
    // committed must be followed by its blob check.
    let (state, org_id, kind) = (state.clone(), org.id, params.kind);
    let (title, year) = (title.to_owned(), year.to_owned());
    tokio::spawn(async move {
        let state = &state;
        let sha256 = state.blobs.put(pdf.clone()).await?;
        let id = document_id();
        let now = (state.clock)().0;
        let inserted = sqlx::query(
            "INSERT INTO documents (id, account_id, enrolment_id, org_id, kind, title, academic_year, sha256, size, \
             created_at, source_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(account_id)
        .bind(enrolment_id)
        .bind(org_id)
        .bind(kind.as_str())
        .bind(&title)
        .bind(&year)
        .bind(&sha256)
        .bind(pdf.len() as i64)
        .bind(now)
        .bind(source.clone())
        .execute(&state.db.pool)
        .await?;
        let (document_id, already_deposited) = if inserted.rows_affected() == 1 {
            (id, false)
        } else {
            let existing = sqlx::query(
                "SELECT id, sha256 FROM documents WHERE enrolment_id = $1 AND (sha256 = $2 OR source_sha256 = $3)",
            )
            .bind(enrolment_id)
            .bind(&sha256)
            .bind(source)
            .fetch_one(&state.db.pool)
            .await?;
            if col::<String>(&existing, "sha256")? != sha256 {
                // The same original, sealed another time: the first stays.
                return Ok(Deposit {
                    document_id: col(&existing, "id")?,
                    sha256: col(&existing, "sha256")?,
                    already_deposited: true,
                });
            }
            (col(&existing, "id")?, true)
        };
        // Also on a repeat: an earlier attempt may have been cut short.
        keep_blob(state, &sha256, || async {
            state.blobs.put(pdf).await.map(|_| ())
        })
        .await?;
        Ok(Deposit {
            document_id,
            sha256,
            already_deposited,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
}

fn check_seal(pdf: &[u8], config: &coffre_seal::ValidationConfig, org: &str) -> ApiResult<()> {
    let report = coffre_seal::validate(pdf, config).map_err(|_| ApiError::NotPdf)?;
    match report.status() {
        Status::TotalPassed => {}
        Status::NoSignature => {
            return Err(ApiError::SealInvalid("the document is not sealed".into()))
        }
        other => {
            let why = report
                .signatures
                .iter()
                .flat_map(|s| s.details.iter())
                .next()
                .cloned()
                .unwrap_or_default();
            return Err(ApiError::SealInvalid(format!("{} ({why})", other.as_str())));
        }
    }
    let sealed_by_org = report
        .signatures
        .iter()
        .any(|s| s.signer.as_ref().and_then(|x| x.organization.as_deref()) == Some(org));
    if !sealed_by_org {
        return Err(ApiError::SealInvalid(format!("the seal is not {org}'s")));
    }
    Ok(())
}

fn valid_academic_year(y: &str) -> bool {
    match y.split_once('-') {
        Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
            (Ok(a), Ok(b)) => a.to_string().len() == 4 && b == a + 1,
            _ => false,
        },
        None => false,
    }
}

fn document_id() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    coffre_seal::hex(&bytes)
}

const COLUMNS: &str = "d.id, d.title, d.kind, d.academic_year, d.size, d.sha256, d.created_at, d.org_id, o.name AS org_name";

fn info(row: &AnyRow) -> ApiResult<DocumentInfo> {
    let kind: String = col(row, "kind")?;
    let org_id: Option<i64> = col(row, "org_id")?;
    Ok(DocumentInfo {
        id: col(row, "id")?,
        title: col(row, "title")?,
        kind: DocumentKind::parse(&kind).unwrap_or(DocumentKind::Other),
        organisation: col(row, "org_name")?,
        academic_year: col(row, "academic_year")?,
        size: u64::try_from(col::<i64>(row, "size")?).unwrap_or(0),
        sha256: col(row, "sha256")?,
        created_at: col(row, "created_at")?,
        sealed: org_id.is_some(),
    })
}

/// The *Coffre* tab: the safe's documents, newest first, filtered.
pub async fn list(state: &AppState, account_id: i64, q: &DocumentQuery) -> ApiResult<DocumentPage> {
    let per_page = q.per_page.unwrap_or(50).clamp(1, 200);
    let page = q.page.unwrap_or(1).max(1);
    // Filters are bound in a fixed order; an absent one matches all.
    let org = q.organisation.clone();
    let kind = q.kind.map(|k| k.as_str().to_owned());
    let year = q.year.clone();
    let words =
        q.q.as_ref()
            .map(|w| format!("%{}%", w.trim().to_lowercase().replace(['%', '_'], "")));
    let filter = "d.account_id = $1 \
        AND ($2 IS NULL OR o.name = $2) AND ($3 IS NULL OR d.kind = $3) \
        AND ($4 IS NULL OR d.academic_year = $4) AND ($5 IS NULL OR LOWER(d.title) LIKE $5)";
    let total = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM documents d LEFT JOIN organisations o ON o.id = d.org_id WHERE {filter}"
    ))
    .bind(account_id)
    .bind(org.clone())
    .bind(kind.clone())
    .bind(year.clone())
    .bind(words.clone())
    .fetch_one(&state.db.pool)
    .await?;
    let order = match q.sort.unwrap_or_default() {
        DocumentSort::Newest => "d.created_at DESC, d.id",
        DocumentSort::Oldest => "d.created_at ASC, d.id",
        DocumentSort::Title => "LOWER(d.title), d.created_at DESC, d.id",
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM documents d LEFT JOIN organisations o ON o.id = d.org_id WHERE {filter} \
         ORDER BY {order} LIMIT $6 OFFSET $7"
    ))
    .bind(account_id)
    .bind(org)
    .bind(kind)
    .bind(year)
    .bind(words)
    .bind(i64::from(per_page))
    .bind(i64::from(page - 1) * i64::from(per_page))
    .fetch_all(&state.db.pool)
    .await?;
    Ok(DocumentPage {
        documents: rows.iter().map(info).collect::<ApiResult<_>>()?,
        total: u64::try_from(col::<i64>(&total, "n")?).unwrap_or(0),
        page,
        per_page,
    })
}

/// The Coffre filters' choices for this safe, with counts.
pub async fn facets(state: &AppState, account_id: i64) -> ApiResult<DocumentFacets> {
    let count = |sql: &'static str| {
        let pool = state.db.pool.clone();
        async move {
            let rows = sqlx::query(sql).bind(account_id).fetch_all(&pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(Facet {
                        value: col(r, "value")?,
                        count: u64::try_from(col::<i64>(r, "n")?).unwrap_or(0),
                    })
                })
                .collect::<ApiResult<Vec<Facet>>>()
        }
    };
    let organisations = count(
        "SELECT o.name AS value, COUNT(*) AS n FROM documents d JOIN organisations o ON o.id = d.org_id \
         WHERE d.account_id = $1 GROUP BY o.name ORDER BY o.name",
    )
    .await?;
    let kinds = count(
        "SELECT d.kind AS value, COUNT(*) AS n FROM documents d WHERE d.account_id = $1 \
         GROUP BY d.kind ORDER BY d.kind",
    )
    .await?;
    let years = count(
        "SELECT d.academic_year AS value, COUNT(*) AS n FROM documents d \
         WHERE d.account_id = $1 AND d.academic_year IS NOT NULL \
         GROUP BY d.academic_year ORDER BY d.academic_year DESC",
    )
    .await?;
    let personal =
        sqlx::query("SELECT COUNT(*) AS n FROM documents WHERE account_id = $1 AND org_id IS NULL")
            .bind(account_id)
            .fetch_one(&state.db.pool)
            .await?;
    Ok(DocumentFacets {
        organisations,
        kinds,
        years,
        personal: u64::try_from(col::<i64>(&personal, "n")?).unwrap_or(0),
    })
}

/// One of the safe's documents; another safe's is "not found".
pub async fn get(state: &AppState, account_id: i64, id: &str) -> ApiResult<DocumentInfo> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM documents d LEFT JOIN organisations o ON o.id = d.org_id \
         WHERE d.id = $1 AND d.account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    info(&row)
}

/// The name a download is saved under: the title, cleaned of what file
/// systems and headers refuse, with the extension its bytes call for.
/// `(ASCII fallback, UTF-8 name)` for `filename` and `filename*`.
pub fn download_name(title: &str, extension: Option<&str>) -> (String, String) {
    let clean: String = title
        .chars()
        .map(|c| {
            if c.is_control() || "/\\\":*?<>|".contains(c) {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches('.')
        .chars()
        .take(120)
        .collect();
    let clean = if clean.is_empty() {
        "document".to_owned()
    } else {
        clean
    };
    let with_ext = match extension {
        Some(ext) if !clean.to_ascii_lowercase().ends_with(&format!(".{ext}")) => {
            format!("{clean}.{ext}")
        }
        _ => clean,
    };
    let ascii: String = with_ext
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (ascii, with_ext)
}

/// A document's bytes, streamed from the blob store (memory does not grow
/// with the file's size).
pub async fn content(
    state: &AppState,
    account_id: i64,
    id: &str,
) -> ApiResult<(
    DocumentInfo,
    futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
)> {
    let doc = get(state, account_id, id).await?;
    let stream = state.blobs.get_stream(&doc.sha256).await?;
    Ok((doc, stream))
}

/// What a student's own file may be, by its first bytes: its media type
/// and file extension.
pub fn media_type(head: &[u8]) -> Option<(&'static str, &'static str)> {
    if head.starts_with(b"%PDF-") {
        Some(("application/pdf", "pdf"))
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(("image/jpeg", "jpg"))
    } else {
        None
    }
}

/// How long an upload may hold its reservation.
const RESERVATION_SECONDS: i64 = 86_400;
/// Room reserved at a time for an upload of unknown length.
const RESERVE_STEP: u64 = 16 << 20;

/// Room in the quota held for an upload under way (table
/// `upload_reservations`, counted in `accounts.reserved_bytes`): uploads
/// racing for the last bytes cannot together pass the quota, and none
/// stores bytes it has no room for. Given back when dropped unless the
/// upload was recorded; a crash's are given back when they expire (at
/// the next start on SQLite, where one server holds the data).
struct Reservation {
    state: AppState,
    id: String,
    account_id: i64,
    bytes: u64,
    expires_at: i64,
    done: bool,
}

impl Reservation {
    async fn take(state: &AppState, account_id: i64, bytes: u64) -> ApiResult<Reservation> {
        let now = (state.clock)().0;
        let id = document_id();
        let mut tx = state.db.pool.begin().await?;
        let taken = sqlx::query(
            "UPDATE accounts SET reserved_bytes = reserved_bytes + $1 \
             WHERE id = $2 AND used_bytes + reserved_bytes + $1 <= $3",
        )
        .bind(bytes as i64)
        .bind(account_id)
        .bind(state.quota_bytes as i64)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            return Err(ApiError::QuotaExceeded);
        }
        sqlx::query(
            "INSERT INTO upload_reservations (id, account_id, bytes, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(account_id)
        .bind(bytes as i64)
        .bind(now + RESERVATION_SECONDS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Reservation {
            state: state.clone(),
            id,
            account_id,
            bytes,
            expires_at: now + RESERVATION_SECONDS,
            done: false,
        })
    }

    /// Room for `more` bytes, or what is left of the quota if less.
    async fn grow(&mut self, more: u64) -> ApiResult<()> {
        let state = &self.state;
        if (state.clock)().0 > self.expires_at {
            return Err(ApiError::Invalid(
                "The upload took more than a day and was stopped: send it again.".into(),
            ));
        }
        let row =
            sqlx::query("SELECT used_bytes + reserved_bytes AS taken FROM accounts WHERE id = $1")
                .bind(self.account_id)
                .fetch_one(&state.db.pool)
                .await?;
        let room = (state.quota_bytes as i64 - col::<i64>(&row, "taken")?).max(0) as u64;
        let more = more.min(room);
        if more == 0 {
            return Err(ApiError::QuotaExceeded);
        }
        let mut tx = state.db.pool.begin().await?;
        let taken = sqlx::query(
            "UPDATE accounts SET reserved_bytes = reserved_bytes + $1 \
             WHERE id = $2 AND used_bytes + reserved_bytes + $1 <= $3",
        )
        .bind(more as i64)
        .bind(self.account_id)
        .bind(state.quota_bytes as i64)
        .execute(&mut *tx)
        .await?;
        let held = sqlx::query("UPDATE upload_reservations SET bytes = bytes + $1 WHERE id = $2")
            .bind(more as i64)
            .bind(&self.id)
            .execute(&mut *tx)
            .await?;
        if taken.rows_affected() != 1 || held.rows_affected() != 1 {
            return Err(ApiError::QuotaExceeded);
        }
        tx.commit().await?;
        self.bytes += more;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Also when the caller went away mid-upload (this future dropped).
        let (state, id) = (self.state.clone(), std::mem::take(&mut self.id));
        tokio::spawn(async move {
            if let Err(e) = release_reservation(&state, &id).await {
                tracing::warn!("giving back an upload's room: {e:?}");
            }
        });
    }
}

async fn release_reservation(state: &AppState, id: &str) -> ApiResult<bool> {
    let mut tx = state.db.pool.begin().await?;
    let row = sqlx::query("SELECT account_id, bytes FROM upload_reservations WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let gone = sqlx::query("DELETE FROM upload_reservations WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if gone.rows_affected() == 1 {
        sqlx::query("UPDATE accounts SET reserved_bytes = reserved_bytes - $1 WHERE id = $2")
            .bind(col::<i64>(&row, "bytes")?)
            .bind(col::<i64>(&row, "account_id")?)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(gone.rows_affected() == 1)
}

/// Gives back the room of reservations past their time.
pub async fn release_expired_reservations(state: &AppState) -> ApiResult<usize> {
    release_reservations_before(state, (state.clock)().0).await
}

/// Gives back the room of reservations that expire before `before` (all
/// of them for a server starting alone on its data).
pub(crate) async fn release_reservations_before(state: &AppState, before: i64) -> ApiResult<usize> {
    let rows = sqlx::query("SELECT id FROM upload_reservations WHERE expires_at < $1")
        .bind(before)
        .fetch_all(&state.db.pool)
        .await?;
    let mut n = 0;
    for r in rows {
        if release_reservation(state, &col::<String>(&r, "id")?).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// The spool file of an upload, deleted however the upload ends.
struct Spool(std::path::PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A student's own file, streamed. Room is reserved first (the whole
/// `Content-Length` when given, else as it arrives), so a file that
/// does not fit is refused before or while it streams, never after it is
/// stored; then it is spooled to disk while hashed, stored, and recorded
/// with its size counted in one transaction.
pub async fn upload<S, E>(
    state: &AppState,
    account_id: i64,
    params: &UploadParams,
    content_length: Option<u64>,
    mut body: S,
) -> ApiResult<DocumentInfo>
where
    S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use futures::StreamExt;
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;

    let title = params.title.trim();
    if title.is_empty() || title.len() > 300 {
        return Err(ApiError::Invalid(
            "A file needs a title of at most 300 characters.".into(),
        ));
    }
    let mut reservation = match content_length {
        Some(0) => return Err(ApiError::UnsupportedType),
        Some(n) if n > state.quota_bytes => return Err(ApiError::QuotaExceeded),
        Some(n) => Reservation::take(state, account_id, n).await?,
        None => {
            let mut r = Reservation::take(state, account_id, 0).await?;
            r.grow(RESERVE_STEP).await?;
            r
        }
    };

    let spool = Spool(state.tmp_dir.join(format!("upload-{}", document_id())));
    let mut file = tokio::fs::File::create(&spool.0)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    let mut head = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::Invalid(format!("the upload was interrupted: {e}")))?;
        if head.len() < 8 {
            head.extend_from_slice(&chunk[..chunk.len().min(8 - head.len())]);
            if head.len() >= 8 && media_type(&head).is_none() {
                return Err(ApiError::UnsupportedType);
            }
        }
        size += chunk.len() as u64;
        while size > reservation.bytes {
            if content_length.is_some() {
                return Err(ApiError::Invalid(
                    "The upload is longer than its Content-Length.".into(),
                ));
            }
            reservation.grow(RESERVE_STEP).await?;
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    drop(file);
    if size == 0 || media_type(&head).is_none() {
        return Err(ApiError::UnsupportedType);
    }
    let sha256 = coffre_seal::hex(&hasher.finalize());
    // From here the work finishes even if the caller goes away: a row that
    // committed must be followed by its blob check.
    let (owned, params, title) = (state.clone(), params.clone(), title.to_owned());
    let id = tokio::spawn(async move {
        let state = &owned;
        state.blobs.put_file(&spool.0, &sha256, size).await?;
        let id = match record_upload(state, &mut reservation, &params, &title, &sha256, size).await
        {
            Ok(id) => id,
            Err(e) => {
                // Refused after all: its bytes go at once.
                let _ = release_blob(state, &sha256).await;
                return Err(e);
            }
        };
        keep_blob(state, &sha256, || {
            state.blobs.put_file(&spool.0, &sha256, size)
        })
        .await?;
        drop(spool);
        Ok::<_, ApiError>(id)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    get(state, account_id, &id).await
}

/// Turns the reservation into the file's size and records the upload, in
/// one transaction.
async fn record_upload(
    state: &AppState,
    reservation: &mut Reservation,
    params: &UploadParams,
    title: &str,
    sha256: &str,
    size: u64,
) -> ApiResult<String> {
    let id = document_id();
    let now = (state.clock)().0;
    let mut tx = state.db.pool.begin().await?;
    let held = sqlx::query("DELETE FROM upload_reservations WHERE id = $1")
        .bind(&reservation.id)
        .execute(&mut *tx)
        .await?;
    if held.rows_affected() != 1 {
        return Err(ApiError::Invalid(
            "The upload took too long and its room was given back: send it again.".into(),
        ));
    }
    sqlx::query(
        "UPDATE accounts SET reserved_bytes = reserved_bytes - $1, used_bytes = used_bytes + $2 WHERE id = $3",
    )
    .bind(reservation.bytes as i64)
    .bind(size as i64)
    .bind(reservation.account_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO documents (id, account_id, kind, title, sha256, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(reservation.account_id)
    .bind(params.kind.unwrap_or(DocumentKind::Other).as_str())
    .bind(title)
    .bind(sha256)
    .bind(size as i64)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    reservation.done = true;
    Ok(id)
}

pub async fn rename(
    state: &AppState,
    account_id: i64,
    id: &str,
    title: &str,
) -> ApiResult<DocumentInfo> {
    let title = title.trim();
    if title.is_empty() || title.len() > 300 {
        return Err(ApiError::Invalid("A title has 1 to 300 characters.".into()));
    }
    let done = sqlx::query("UPDATE documents SET title = $1 WHERE id = $2 AND account_id = $3")
        .bind(title)
        .bind(id)
        .bind(account_id)
        .execute(&state.db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound);
    }
    get(state, account_id, id).await
}

/// Deletes a document from the safe; the student's own files give their
/// room back. The bytes go when no document names them any more.
pub async fn delete(state: &AppState, account_id: i64, id: &str) -> ApiResult<()> {
    let doc = get(state, account_id, id).await?;
    let mut tx = state.db.pool.begin().await?;
    let gone = sqlx::query("DELETE FROM documents WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    // Only the deletion that removed the row gives its room back.
    if gone.rows_affected() != 1 {
        return Err(ApiError::NotFound);
    }
    if !doc.sealed {
        sqlx::query("UPDATE accounts SET used_bytes = used_bytes - $1 WHERE id = $2")
            .bind(doc.size as i64)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    release_blob(state, &doc.sha256).await?;
    Ok(())
}

/// Whether a document names this blob.
pub(crate) async fn named(state: &AppState, sha256: &str) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("SELECT id FROM documents WHERE sha256 = $1 LIMIT 1")
            .bind(sha256)
            .fetch_optional(&state.db.pool)
            .await?
            .is_some(),
    )
}

/// Deletes a blob once no document names it, without ever losing one that
/// a document names: a writer storing the same bytes may be between its
/// "already stored" and its row. The blob is first set aside, the rows
/// are looked at again, and it is put back if one names it now; a writer
/// that commits after that second look finds the blob gone and stores it
/// again ([`keep_blob`]).
/// `true` when this call deleted it.
pub async fn release_blob(state: &AppState, sha256: &str) -> anyhow::Result<bool> {
    if named(state, sha256).await? {
        return Ok(false);
    }
    let Some(aside) = state.blobs.set_aside(sha256).await? else {
        return Ok(false);
    };
    if named(state, sha256).await? {
        state.blobs.put_back(&aside).await?;
        Ok(false)
    } else {
        state.blobs.discard(&aside).await?;
        Ok(true)
    }
}

/// After a row naming `sha256` committed: the blob is there, or is stored
/// again by `store` (a deletion of the same bytes took it meanwhile).
async fn keep_blob<F, Fut>(state: &AppState, sha256: &str, store: F) -> anyhow::Result<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    if state.blobs.exists(sha256).await? {
        return Ok(());
    }
    tracing::info!(
        sha256,
        "a deletion took this blob as it was named again: storing it again"
    );
    store().await
}

/// Which of these originals (hex SHA-256 before sealing) this organisation
/// has deposited already.
pub async fn known_deposits(
    state: &AppState,
    org: &Org,
    asked: &[KnownDeposit],
) -> ApiResult<Vec<KnownDeposit>> {
    if asked.len() > 1000 {
        return Err(ApiError::Invalid(
            "ask about at most 1,000 deposits at a time".into(),
        ));
    }
    let asked: HashSet<KnownDeposit> = asked
        .iter()
        .map(|k| KnownDeposit {
            student_number: k.student_number.trim().to_owned(),
            source_sha256: k.source_sha256.to_ascii_lowercase(),
        })
        .collect();
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    // Both lists bound the rows read; the pairs are matched here.
    let students: HashSet<&str> = asked.iter().map(|k| k.student_number.as_str()).collect();
    let digests: HashSet<&str> = asked.iter().map(|k| k.source_sha256.as_str()).collect();
    let marks = |from: usize, n: usize| -> String {
        (from..from + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = format!(
        "SELECT e.student_number, d.source_sha256 FROM documents d \
         JOIN enrolments e ON e.id = d.enrolment_id \
         WHERE d.org_id = $1 AND e.student_number IN ({}) AND d.source_sha256 IN ({})",
        marks(2, students.len()),
        marks(2 + students.len(), digests.len())
    );
    let mut q = sqlx::query(&sql).bind(org.id);
    for s in &students {
        q = q.bind(*s);
    }
    for d in &digests {
        q = q.bind(*d);
    }
    let mut known = Vec::new();
    for row in q.fetch_all(&state.db.pool).await? {
        let k = KnownDeposit {
            student_number: col(&row, "student_number")?,
            source_sha256: col(&row, "source_sha256")?,
        };
        if asked.contains(&k) && !known.contains(&k) {
            known.push(k);
        }
    }
    Ok(known)
}

/// The operator's attestation of one of the student's deposited
/// documents: the QR text of its printed copies.
pub async fn attestation(
    state: &AppState,
    account_id: i64,
    id: &str,
) -> ApiResult<coffre_api::DocumentAttestation> {
    let row = sqlx::query(
        "SELECT d.title, d.kind, d.academic_year, d.sha256, d.created_at, o.name AS org, \
                e.first_name, e.last_name \
         FROM documents d LEFT JOIN organisations o ON o.id = d.org_id \
         LEFT JOIN enrolments e ON e.id = d.enrolment_id \
         WHERE d.id = $1 AND d.account_id = $2",
    )
    .bind(id)
    .bind(account_id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    let Some(issuer) = col::<Option<String>>(&row, "org")? else {
        return Err(ApiError::NotAttested);
    };
    let digest: String = col(&row, "sha256")?;
    let mut sha256 = [0u8; 32];
    for (i, b) in sha256.iter_mut().enumerate() {
        *b = digest
            .get(i * 2..i * 2 + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("document {id}: bad sha256")))?;
    }
    let first: Option<String> = col(&row, "first_name")?;
    let last: Option<String> = col(&row, "last_name")?;
    let student = format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default())
        .trim()
        .to_owned();
    let statement = coffre_print::attestation::Statement {
        issuer,
        student,
        title: col(&row, "title")?,
        kind: col(&row, "kind")?,
        year: col(&row, "academic_year")?,
        sha256,
        deposited_at: coffre_seal::UnixTime(col(&row, "created_at")?),
        document_id: id.to_owned(),
        issued_at: (state.clock)(),
    };
    let text = state
        .operator
        .attest(&statement, &state.public_url)
        .map_err(ApiError::Internal)?;
    Ok(coffre_api::DocumentAttestation { text })
}
