//! The ApplicationMaster's REST API, in Flink's shapes for the parts spindle has: what a Flink user
//! or tool reads from a JobManager (`/overview`, `/taskmanagers`, `/jobmanager/config`, `/jobs`,
//! `/jobs/overview`, `/jobs/{id}`), plus `/events`, the ResourceManager's decision log, `DELETE
//! /cluster`, which stops the cluster, job submission and cancellation, and each job's key-value
//! store ([`jobs`]). YARN's tracking URL and the application report's RPC address lead here.
//!
//! GETs of the cluster and its jobs are open (as YARN's tracking UI is); changes need the
//! application's secret and a job's key-value store its job's token ([`auth`]). Errors answer
//! Flink's way: a status code and `{"errors": ["..."]}`.

pub mod auth;
mod jobs;

pub use jobs::MAX_WAIT as MAX_KV_WAIT;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::config::Configuration;
use crate::dispatcher::DispatcherHandle;
use crate::jobmanager::bridge::TaskManagerInfo;
use crate::resource_manager::events::{Event, EventQuery, Reason};
use crate::resource_manager::types::{JobId, JobStatus, Resources, WorkerId};
use crate::rpc::Secret;

/// A boxed future, for the object-safe [`ClusterView`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the REST API reads about the cluster; `None` when the ResourceManager has stopped.
pub trait ClusterView: Send + Sync + 'static {
    /// The registered TaskExecutors.
    fn task_managers(&self) -> BoxFuture<'_, Option<Vec<TaskManagerInfo>>>;
    /// Decision log entries.
    fn events(&self, query: EventQuery) -> BoxFuture<'_, Option<Vec<Event>>>;
}

/// Keys whose values are never shown (Flink's list of sensitive key fragments).
const SENSITIVE_KEY_FRAGMENTS: &[&str] = &[
    "password",
    "secret",
    "fs.azure.account.key",
    "apikey",
    "api-key",
    "auth-params",
    "service-key",
    "token",
    "basic-auth",
    "jaas.config",
    "http-headers",
];

/// What replaces a sensitive value.
pub const REDACTED: &str = "******";

/// A configuration's entries for display, sensitive values replaced by [`REDACTED`].
pub fn redacted_entries(conf: &Configuration) -> Vec<(String, String)> {
    conf.iter()
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let value = if SENSITIVE_KEY_FRAGMENTS.iter().any(|f| lower.contains(f)) {
                REDACTED.to_owned()
            } else {
                v.to_owned()
            };
            (k.to_owned(), value)
        })
        .collect()
}

/// Everything the handlers share.
pub struct WebState {
    /// The cluster's state.
    pub cluster: Arc<dyn ClusterView>,
    /// The jobs.
    pub jobs: DispatcherHandle,
    /// Notified when a client has read an ended job's details (a per-job ApplicationMaster
    /// waits for that, briefly, so an attached `spindle run` sees the job's end).
    pub job_end_seen: Arc<tokio::sync::Notify>,
    /// The configuration as shown (already redacted).
    pub config: Vec<(String, String)>,
    /// The application's secret, for authorizing changes.
    pub secret: Secret,
    /// Where a shutdown request goes.
    pub shutdown: mpsc::Sender<()>,
}

/// The API's routes.
pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/overview", get(overview))
        .route("/taskmanagers", get(task_managers))
        .route("/jobmanager/config", get(config))
        .route("/events", get(events))
        .route("/cluster", delete(shutdown))
        .route("/jobs", get(jobs::list).post(jobs::submit))
        .route("/jobs/overview", get(jobs::overview))
        .route("/jobs/{id}", get(jobs::details).patch(jobs::patch))
        .route("/jobs/{id}/kv/{*key}", get(jobs::kv_get).put(jobs::kv_put))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Serves the API on a bound listener until the process ends.
pub fn serve(listener: tokio::net::TcpListener, state: Arc<WebState>) {
    let app = router(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(%e, "the REST API stopped");
        }
    });
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "errors": [message.into()] }))).into_response()
}

fn stopped() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the ResourceManager has stopped; the session is shutting down",
    )
}

async fn not_found(uri: Uri) -> Response {
    error(StatusCode::NOT_FOUND, format!("Not found: {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

async fn overview(State(state): State<Arc<WebState>>) -> Response {
    let Some(tms) = state.cluster.task_managers().await else {
        return stopped();
    };
    let jobs = state.jobs.overview().await.unwrap_or_default();
    let count = |s: JobStatus| jobs.iter().filter(|j| j.state == s).count();
    Json(json!({
        "taskmanagers": tms.len(),
        "slots-total": tms.iter().map(|t| u64::from(t.slots)).sum::<u64>(),
        "slots-available": tms.iter().map(|t| u64::from(t.free_slots)).sum::<u64>(),
        "jobs-running": jobs.iter().filter(|j| !j.state.is_globally_terminal()).count(),
        "jobs-finished": count(JobStatus::Finished),
        "jobs-cancelled": count(JobStatus::Canceled),
        "jobs-failed": count(JobStatus::Failed),
        "flink-version": env!("CARGO_PKG_VERSION"),
        "flink-commit": "spindle",
    }))
    .into_response()
}

/// Flink's ResourceProfileInfo: CPU in cores, memory in MiB.
fn resource_json(r: &Resources) -> Value {
    let mib = |b: u64| b >> 20;
    json!({
        "cpuCores": r.cpu_millis as f64 / 1000.0,
        "taskHeapMemory": mib(r.task_heap),
        "taskOffHeapMemory": mib(r.task_off_heap),
        "managedMemory": mib(r.managed),
        "networkMemory": mib(r.network),
        "extendedResources": {},
    })
}

async fn task_managers(State(state): State<Arc<WebState>>) -> Response {
    let Some(tms) = state.cluster.task_managers().await else {
        return stopped();
    };
    let list: Vec<Value> = tms
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "path": t.path,
                "dataPort": -1,
                "jmxPort": -1,
                "timeSinceLastHeartbeat": t.last_heartbeat_ms,
                "slotsNumber": t.slots,
                "freeSlots": t.free_slots,
                "totalResource": resource_json(&t.total),
                "freeResource": resource_json(&t.free),
            })
        })
        .collect();
    Json(json!({ "taskmanagers": list })).into_response()
}

async fn config(State(state): State<Arc<WebState>>) -> Response {
    let entries: Vec<Value> = state
        .config
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    Json(entries).into_response()
}

/// `GET /events` filters: `since`, `name`, `reason`, `worker`, `job` (32 hex digits), `limit`.
#[derive(Debug, Deserialize)]
struct EventsParams {
    since: Option<u64>,
    name: Option<String>,
    reason: Option<String>,
    worker: Option<String>,
    job: Option<String>,
    limit: Option<usize>,
}

async fn events(
    State(state): State<Arc<WebState>>,
    params: Result<Query<EventsParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(p) = match params {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let reason = match p.reason {
        None => None,
        Some(r) => match serde_json::from_value::<Reason>(Value::String(r.clone())) {
            Ok(reason) => Some(reason),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "unknown reason {r:?}; reasons are snake_case, e.g. no_longer_needed or idle"
                    ),
                );
            }
        },
    };
    let job = match p.job {
        None => None,
        Some(j) => match u128::from_str_radix(&j, 16) {
            Ok(n) if j.len() == 32 => Some(JobId(n)),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("job {j:?} is not a job id (32 hex digits)"),
                );
            }
        },
    };
    let query = EventQuery {
        since: p.since,
        name: p.name,
        reason,
        job,
        worker: p.worker.map(WorkerId::new),
        limit: p.limit,
    };
    match state.cluster.events(query).await {
        Some(events) => Json(json!({ "events": events })).into_response(),
        None => stopped(),
    }
}

async fn shutdown(State(state): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    if !auth::authorizes(&state.secret, "DELETE", "/cluster", header) {
        return error(
            StatusCode::UNAUTHORIZED,
            "stopping the session needs `Authorization: Bearer <token>` made with the \
             application's secret; use `spindle yarn-session --stop`",
        );
    }
    // A full channel means a shutdown is already under way.
    let _ = state.shutdown.try_send(());
    (StatusCode::ACCEPTED, Json(json!({}))).into_response()
}
