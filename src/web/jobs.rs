//! The job endpoints, in Flink's shapes where Flink has them:
//!
//! - `GET /jobs` (ids and states), `GET /jobs/overview`, `GET /jobs/{id}` (vertices with their
//!   subtasks: state, attempt, slot and TaskExecutor);
//! - `POST /jobs` submits a job spec (JSON, parallelism resolved) and answers `{"jobid": ...}`;
//!   `PATCH /jobs/{id}?mode=cancel` cancels. Both need a request signed with the application's
//!   secret ([`super::auth::signed_request_token`]);
//! - `PUT /jobs/{id}/kv/{key}` (the body is the value) and `GET /jobs/{id}/kv/{key}[?wait=ms]`:
//!   the job's key-value store, for its tasks, with the job's token
//!   ([`super::auth::job_token`]); a GET with `wait` holds the request until the key is put (at
//!   most [`MAX_WAIT`]). A key that is not set is 404; a job that has ended (or never existed)
//!   is 410.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{WebState, auth, error, stopped};
use crate::dispatcher::kv::KvError;
use crate::dispatcher::{CancelError, SubmitError, parse_job_id};
use crate::jobspec::JobSpec;
use crate::resource_manager::types::JobId;

/// The longest a `GET .../kv/{key}?wait=` holds a request.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
}

/// A refusal: the status and the message of an error answer.
type Refusal = (StatusCode, String);

/// Whether a request is signed for `method` on `path` with `body` ([`auth::authorizes_signed`]).
fn signed(state: &WebState, method: &str, path: &str, body: &[u8], headers: &HeaderMap) -> bool {
    let date = headers.get(auth::DATE_HEADER).and_then(|h| h.to_str().ok());
    auth::authorizes_signed(
        &state.secret,
        method,
        path,
        body,
        date,
        authorization(headers),
        auth::unix_now(),
    )
}

fn job_id(text: &str) -> Result<JobId, Refusal> {
    parse_job_id(text).ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            format!("{text:?} is not a job id (32 hex digits)"),
        )
    })
}

pub(super) async fn list(State(state): State<Arc<WebState>>) -> Response {
    let Some(jobs) = state.jobs.overview().await else {
        return stopped();
    };
    let list: Vec<_> = jobs
        .iter()
        .map(|j| json!({ "id": j.jid, "status": j.state }))
        .collect();
    Json(json!({ "jobs": list })).into_response()
}

pub(super) async fn overview(State(state): State<Arc<WebState>>) -> Response {
    match state.jobs.overview().await {
        Some(jobs) => {
            if jobs.iter().any(|j| j.state.is_globally_terminal()) {
                state.job_end_seen.notify_one();
            }
            Json(json!({ "jobs": jobs })).into_response()
        }
        None => stopped(),
    }
}

pub(super) async fn details(
    State(state): State<Arc<WebState>>,
    Path(id): Path<String>,
) -> Response {
    let job = match job_id(&id) {
        Ok(j) => j,
        Err((status, message)) => return error(status, message),
    };
    match state.jobs.details(job).await {
        Some(Some(d)) => {
            if d.state.is_globally_terminal() {
                state.job_end_seen.notify_one();
            }
            Json(d).into_response()
        }
        Some(None) => error(
            StatusCode::NOT_FOUND,
            format!("no job {job} in this cluster"),
        ),
        None => stopped(),
    }
}

pub(super) async fn submit(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !signed(&state, "POST", "/jobs", &body, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "submitting a job needs a request signed with the application's secret (and a clock \
             within 5 minutes of the ApplicationMaster's); use `spindle run`",
        );
    }
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(_) => return error(StatusCode::BAD_REQUEST, "the job spec is not UTF-8 text"),
    };
    let spec = match JobSpec::parse(text) {
        Ok(s) => s,
        Err(e) => {
            let errors: Vec<String> = e.errors.iter().map(ToString::to_string).collect();
            return (StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))).into_response();
        }
    };
    match state.jobs.submit(spec).await {
        Ok(job) => (
            StatusCode::ACCEPTED,
            Json(json!({ "jobid": job.to_string() })),
        )
            .into_response(),
        Err(SubmitError::Invalid(e)) => {
            let errors: Vec<String> = e.errors.iter().map(ToString::to_string).collect();
            (StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))).into_response()
        }
        Err(SubmitError::Stopped) => stopped(),
        Err(e @ SubmitError::NotASession) => error(StatusCode::CONFLICT, e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PatchParams {
    mode: Option<String>,
}

pub(super) async fn patch(
    State(state): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Result<Query<PatchParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let job = match job_id(&id) {
        Ok(j) => j,
        Err((status, message)) => return error(status, message),
    };
    let path = format!("/jobs/{job}");
    if !signed(&state, "PATCH", &path, b"", &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "cancelling a job needs a request signed with the application's secret (and a clock \
             within 5 minutes of the ApplicationMaster's); use `spindle cancel`",
        );
    }
    match params {
        Ok(Query(PatchParams { mode: None })) => {}
        Ok(Query(PatchParams { mode: Some(m) })) if m == "cancel" => {}
        Ok(Query(PatchParams { mode: Some(m) })) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown mode {m:?}; the only mode is cancel"),
            );
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    }
    match state.jobs.cancel(job).await {
        Some(Ok(())) => (StatusCode::ACCEPTED, Json(json!({}))).into_response(),
        Some(Err(e @ CancelError::UnknownJob(_))) => error(StatusCode::NOT_FOUND, e.to_string()),
        Some(Err(e @ CancelError::AlreadyEnded { .. })) => {
            error(StatusCode::CONFLICT, e.to_string())
        }
        None => stopped(),
    }
}

fn kv_error(e: KvError) -> Response {
    // 404 is kept for a key that is not set, so `spindle kv` tells it apart from a store that
    // is not there (410).
    let status = match e {
        KvError::UnknownJob(_) | KvError::Ended(_) => StatusCode::GONE,
        KvError::BadKey(_) => StatusCode::BAD_REQUEST,
        KvError::ValueTooLarge { .. } | KvError::Full => StatusCode::PAYLOAD_TOO_LARGE,
        KvError::TooManyWaits => StatusCode::TOO_MANY_REQUESTS,
    };
    error(status, e.to_string())
}

fn kv_auth(state: &WebState, job: &JobId, headers: &HeaderMap) -> Result<(), Refusal> {
    if auth::authorizes_job(&state.secret, job, authorization(headers)) {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            format!(
                "the key-value store of job {job} needs `Authorization: Bearer <job token>`; tasks \
                 find theirs in $SPINDLE_JOB_TOKEN and use `spindle kv`"
            ),
        ))
    }
}

pub(super) async fn kv_put(
    State(state): State<Arc<WebState>>,
    Path((id, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let job = match job_id(&id) {
        Ok(j) => j,
        Err((status, message)) => return error(status, message),
    };
    if let Err((status, message)) = kv_auth(&state, &job, &headers) {
        return error(status, message);
    }
    let Ok(value) = String::from_utf8(Vec::from(body)) else {
        return error(StatusCode::BAD_REQUEST, "a value must be UTF-8 text");
    };
    match state.jobs.kv_put(job, key, value).await {
        Some(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Some(Err(e)) => kv_error(e),
        None => stopped(),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct KvGetParams {
    /// Milliseconds to wait for the key.
    wait: Option<u64>,
}

pub(super) async fn kv_get(
    State(state): State<Arc<WebState>>,
    Path((id, key)): Path<(String, String)>,
    headers: HeaderMap,
    params: Result<Query<KvGetParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let job = match job_id(&id) {
        Ok(j) => j,
        Err((status, message)) => return error(status, message),
    };
    if let Err((status, message)) = kv_auth(&state, &job, &headers) {
        return error(status, message);
    }
    let wait = match params {
        Ok(Query(p)) => p.wait,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let value = match wait {
        None | Some(0) => match state.jobs.kv_get(job, key.clone()).await {
            Some(Ok(v)) => v,
            Some(Err(e)) => return kv_error(e),
            None => return stopped(),
        },
        Some(ms) => {
            let waited = Duration::from_millis(ms).min(MAX_WAIT);
            match state.jobs.kv_wait(job, key.clone()).await {
                Some(Ok(rx)) => tokio::time::timeout(waited, rx)
                    .await
                    .ok()
                    .and_then(Result::ok),
                Some(Err(e)) => return kv_error(e),
                None => return stopped(),
            }
        }
    };
    match value {
        Some(v) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("job {job} has no key {key:?}"),
        ),
    }
}
