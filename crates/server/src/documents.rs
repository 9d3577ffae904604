//! Documents (table `documents`): sealed deposits from organisations and
//! the student's own files.

use bytes::Bytes;
use coffre_api::{Deposit, DepositParams, DocumentInfo, DocumentKind, DocumentPage, DocumentQuery};
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

    let sha256 = state.blobs.put(pdf.clone()).await?;
    let id = document_id();
    let now = (state.clock)().0;
    let inserted = sqlx::query(
        "INSERT INTO documents (id, account_id, enrolment_id, org_id, kind, title, academic_year, sha256, size, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (enrolment_id, sha256) DO NOTHING",
    )
    .bind(&id)
    .bind(account_id)
    .bind(enrolment_id)
    .bind(org.id)
    .bind(params.kind.as_str())
    .bind(title)
    .bind(year)
    .bind(&sha256)
    .bind(pdf.len() as i64)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Deposit {
            document_id: id,
            sha256,
            already_deposited: false,
        });
    }
    let existing = sqlx::query("SELECT id FROM documents WHERE enrolment_id = $1 AND sha256 = $2")
        .bind(enrolment_id)
        .bind(&sha256)
        .fetch_one(&state.db.pool)
        .await?;
    Ok(Deposit {
        document_id: col(&existing, "id")?,
        sha256,
        already_deposited: true,
    })
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
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM documents d LEFT JOIN organisations o ON o.id = d.org_id WHERE {filter} \
         ORDER BY d.created_at DESC, d.id LIMIT $6 OFFSET $7"
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

pub async fn content(
    state: &AppState,
    account_id: i64,
    id: &str,
) -> ApiResult<(DocumentInfo, Bytes)> {
    let doc = get(state, account_id, id).await?;
    let bytes = state.blobs.get(&doc.sha256).await?;
    Ok((doc, bytes))
}
