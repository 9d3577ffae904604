//! Support for a lost sign-in address (table `support_requests`), and the
//! student's own status check.

use coffre_api::{AccountState, AccountStatus, Email, StatusQuery, SupportRequest, SupportTicket};

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, Source};
use crate::orgs::mask_email;
use crate::AppState;

pub async fn create(
    state: &AppState,
    source: Source,
    req: &SupportRequest,
) -> ApiResult<SupportTicket> {
    let now = (state.clock)().0;
    let required = [
        &req.last_name,
        &req.first_name,
        &req.birth_date,
        &req.university,
        &req.student_number,
    ];
    if required
        .iter()
        .any(|f| f.trim().is_empty() || f.len() > 200)
        || req.message.len() > 4000
    {
        return Err(ApiError::Invalid(
            "Give your last name, first name, birth date, university and student number.".into(),
        ));
    }
    let emails: Vec<String> = req
        .possible_emails
        .iter()
        .map(|e| Email::parse(e).map(Email::into_string))
        .collect::<Result<_, _>>()
        .ok()
        .filter(|e: &Vec<String>| !e.is_empty() && e.len() <= 10)
        .ok_or_else(|| ApiError::Invalid("Give one to ten addresses you may have used.".into()))?;
    let from = source.key();
    state
        .limits
        .check(&limits::SUPPORT_PER_SOURCE, &[&from], now)?;
    state.limits.check(
        &limits::SUPPORT_PER_PAIR,
        &[req.student_number.trim(), &from],
        now,
    )?;
    let row = sqlx::query(
        "INSERT INTO support_requests (created_at, last_name, first_name, birth_date, university, student_number, \
         possible_emails, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(now)
    .bind(req.last_name.trim())
    .bind(req.first_name.trim())
    .bind(req.birth_date.trim())
    .bind(req.university.trim())
    .bind(req.student_number.trim())
    .bind(emails.join(","))
    .bind(req.message.trim())
    .fetch_one(&state.db.pool)
    .await?;
    Ok(SupportTicket {
        reference: col(&row, "id")?,
    })
}

/// An open request, with what the operator's records say about it.
#[derive(Debug)]
pub struct OpenRequest {
    pub id: i64,
    pub created_at: i64,
    pub who: String,
    pub university: String,
    pub student_number: String,
    pub possible_emails: Vec<String>,
    pub message: String,
    /// Matching enrolments: organisation, state, masked sign-in address.
    pub matches: Vec<String>,
}

pub async fn open_requests(state: &AppState) -> anyhow::Result<Vec<OpenRequest>> {
    let rows = sqlx::query(
        "SELECT id, created_at, last_name, first_name, birth_date, university, student_number, possible_emails, message \
         FROM support_requests WHERE answered_at IS NULL ORDER BY id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let student_number: String = col(&r, "student_number")?;
        let last_name: String = col(&r, "last_name")?;
        let birth_date: String = col(&r, "birth_date")?;
        let matches = statuses(state, &student_number, &last_name, &birth_date)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .into_iter()
            .map(|s| {
                format!(
                    "{}: {:?}{}",
                    s.organisation.unwrap_or_default(),
                    s.status,
                    s.masked_email
                        .map(|m| format!(", signs in as {m}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        let emails: String = col(&r, "possible_emails")?;
        out.push(OpenRequest {
            id: col(&r, "id")?,
            created_at: col(&r, "created_at")?,
            who: format!(
                "{} {} (born {birth_date})",
                col::<String>(&r, "first_name")?,
                last_name
            ),
            university: col(&r, "university")?,
            student_number,
            possible_emails: emails.split(',').map(str::to_owned).collect(),
            message: col(&r, "message")?,
            matches,
        });
    }
    Ok(out)
}

/// Answers a request: the answer is e-mailed to every address the student
/// gave, and the request is closed.
pub async fn answer(state: &AppState, id: i64, text: &str) -> anyhow::Result<usize> {
    let now = (state.clock)().0;
    let row = sqlx::query(
        "SELECT possible_emails FROM support_requests WHERE id = $1 AND answered_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(|| anyhow::anyhow!("no open support request {id}"))?;
    let emails: String = col(&row, "possible_emails")?;
    let mut sent = 0;
    for email in emails.split(',').filter(|e| !e.is_empty()) {
        state
            .mailer
            .send(
                email,
                &format!("Coffre : votre demande n°{id} / your request #{id}"),
                text.to_owned(),
            )
            .await?;
        sent += 1;
    }
    sqlx::query("UPDATE support_requests SET answered_at = $1, answer = $2 WHERE id = $3")
        .bind(now)
        .bind(text)
        .bind(id)
        .execute(&state.db.pool)
        .await?;
    Ok(sent)
}

/// Every enrolment matching a student number, last name and birth date.
pub async fn statuses(
    state: &AppState,
    student_number: &str,
    last_name: &str,
    birth_date: &str,
) -> ApiResult<Vec<AccountStatus>> {
    let rows = sqlx::query(
        "SELECT o.name, e.state, e.former, a.email FROM enrolments e JOIN organisations o ON o.id = e.org_id \
         LEFT JOIN accounts a ON a.id = e.account_id \
         WHERE e.student_number = $1 AND LOWER(e.last_name) = $2 AND e.birth_date = $3 ORDER BY o.name",
    )
    .bind(student_number.trim())
    .bind(last_name.trim().to_lowercase())
    .bind(birth_date.trim())
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let st: String = col(r, "state")?;
            let email: Option<String> = col(r, "email")?;
            Ok(AccountStatus {
                student_number: student_number.trim().to_owned(),
                status: match st.as_str() {
                    "refused" => AccountState::Refused,
                    "finalised" => AccountState::Finalised,
                    _ => AccountState::PreCreated,
                },
                masked_email: email.as_deref().map(mask_email),
                former: col::<i64>(r, "former")? != 0,
                organisation: Some(col(r, "name")?),
            })
        })
        .collect()
}

/// The student's own check, limited per client and per student number
/// and client: "not provisioned" when nothing matches.
pub async fn own_status(
    state: &AppState,
    source: Source,
    q: &StatusQuery,
) -> ApiResult<Vec<AccountStatus>> {
    let now = (state.clock)().0;
    if [&q.student_number, &q.last_name, &q.birth_date]
        .iter()
        .any(|f| f.len() > 200)
    {
        return Err(ApiError::Invalid(
            "Give your student number, last name and birth date.".into(),
        ));
    }
    let from = source.key();
    state
        .limits
        .check(&limits::STATUS_PER_SOURCE, &[&from], now)?;
    state.limits.check(
        &limits::STATUS_PER_PAIR,
        &[q.student_number.trim(), &from],
        now,
    )?;
    let found = statuses(state, &q.student_number, &q.last_name, &q.birth_date).await?;
    if found.is_empty() {
        return Ok(vec![AccountStatus {
            student_number: q.student_number.trim().to_owned(),
            status: AccountState::NotProvisioned,
            masked_email: None,
            former: false,
            organisation: None,
        }]);
    }
    Ok(found)
}
