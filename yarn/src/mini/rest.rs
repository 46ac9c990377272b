//! The ResourceManager's REST API (`/ws/v1/cluster/...`) and the mini cluster's fault-injection
//! endpoints (`/mini/v1/...`), served with axum.
//!
//! Responses are the same records the crate's REST client reads ([`crate::rest::types`]), so their
//! JSON is Hadoop 3.x's. Submissions run as the `user.name` caller (pseudo authentication), or as the
//! static user `dr.who` when there is none, as on an insecure RM; errors are `RemoteException` JSON
//! with YARN's HTTP codes. Every handler asks the ResourceManager actor and turns its answer into a response.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;

use crate::credentials::{Credentials, Token};
use crate::records::{ApplicationAttemptId, ApplicationId, ContainerId};
use crate::rest::types as rt;

use super::localize::LocalResource;
use super::rm::{AmSpec, RestFailure, RmHandle, Submission};
use super::scheduler::Res;

type Q = Query<HashMap<String, String>>;

/// A REST error response.
pub struct Failure(pub RestFailure);

impl From<RestFailure> for Failure {
    fn from(f: RestFailure) -> Self {
        Failure(f)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let f = self.0;
        let body = rt::RemoteExceptionResponse {
            remote_exception: rt::RemoteExceptionData {
                exception: f.exception.into(),
                message: f.message,
                java_class_name: f.java_class.into(),
            },
        };
        let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(body)).into_response()
    }
}

fn stopped() -> Failure {
    Failure(RestFailure {
        status: 503,
        exception: "ServiceUnavailableException",
        java_class: "org.apache.hadoop.yarn.webapp.ServiceUnavailableException",
        message: "the mini cluster is shutting down".into(),
    })
}

/// The static web user an insecure RM gives unauthenticated requests (`hadoop.http.staticuser.user`).
pub const STATIC_USER: &str = "dr.who";

/// The caller: `user.name` (pseudo authentication), or the static user, as an insecure RM's
/// filters (anonymous allowed, StaticUserWebFilter) make it.
fn user(q: &HashMap<String, String>) -> String {
    q.get("user.name")
        .filter(|u| !u.is_empty())
        .cloned()
        .unwrap_or_else(|| STATIC_USER.to_string())
}

fn parse_app(id: &str) -> Result<ApplicationId, Failure> {
    id.parse().map_err(|e| {
        Failure(RestFailure::bad_request(format!(
            "Invalid ApplicationId: {id} ({e})"
        )))
    })
}

async fn ask<R: Send + 'static>(
    rm: &RmHandle,
    f: impl FnOnce(&mut super::rm::Rm) -> R + Send + 'static,
) -> Result<R, Failure> {
    rm.call(f).await.ok_or_else(stopped)
}

/// The RM REST and fault-injection routes.
pub fn router(rm: RmHandle) -> axum::Router {
    axum::Router::new()
        .route("/ws/v1/cluster", get(cluster_info))
        .route("/ws/v1/cluster/info", get(cluster_info))
        .route("/ws/v1/cluster/metrics", get(metrics))
        .route("/ws/v1/cluster/nodes", get(nodes))
        .route("/ws/v1/cluster/nodes/{id}", get(node))
        .route("/ws/v1/cluster/scheduler", get(scheduler))
        .route("/ws/v1/cluster/apps", get(apps).post(submit))
        .route("/ws/v1/cluster/apps/new-application", post(new_application))
        .route("/ws/v1/cluster/apps/{id}", get(app))
        .route(
            "/ws/v1/cluster/apps/{id}/state",
            get(app_state).put(put_state),
        )
        .route("/ws/v1/cluster/apps/{id}/appattempts", get(attempts))
        .route(
            "/ws/v1/cluster/apps/{id}/appattempts/{attempt}/containers",
            get(containers),
        )
        .route("/cluster", get(ui))
        .route("/mini/v1/containers/{id}/kill", post(kill_container))
        .route("/mini/v1/containers/{id}/preempt", post(preempt_container))
        .route("/mini/v1/nodes/{id}/lose", post(lose_node))
        .route(
            "/mini/v1/apps/{id}/extra-containers",
            post(extra_containers),
        )
        .fallback(|| async {
            Failure(RestFailure::not_found(
                "no such resource; the RM REST API lives under /ws/v1/cluster",
            ))
        })
        .with_state(rm)
}

async fn cluster_info(
    State(rm): State<RmHandle>,
) -> Result<Json<rt::ClusterInfoResponse>, Failure> {
    let info = ask(&rm, |rm| rm.cluster_info()).await?;
    Ok(Json(rt::ClusterInfoResponse { cluster_info: info }))
}

async fn metrics(State(rm): State<RmHandle>) -> Result<Json<rt::ClusterMetricsResponse>, Failure> {
    let m = ask(&rm, |rm| rm.cluster_metrics()).await?;
    Ok(Json(rt::ClusterMetricsResponse { cluster_metrics: m }))
}

async fn nodes(
    State(rm): State<RmHandle>,
    Query(q): Q,
) -> Result<Json<rt::NodesResponse>, Failure> {
    let states: Vec<String> = q
        .get("states")
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_ascii_uppercase())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let include_lost = states.iter().any(|s| s == "LOST");
    let all = ask(&rm, move |rm| rm.nodes_report(include_lost)).await?;
    let list: Vec<rt::NodeInfo> = all
        .into_iter()
        .filter(|n| states.is_empty() || states.contains(&n.state))
        .collect();
    Ok(Json(list.into()))
}

async fn node(
    State(rm): State<RmHandle>,
    Path(id): Path<String>,
) -> Result<Json<rt::NodeResponse>, Failure> {
    let all = ask(&rm, |rm| rm.nodes_report(true)).await?;
    let node = all.into_iter().find(|n| n.id == id).ok_or_else(|| {
        Failure(RestFailure::not_found(format!(
            "nodeId, {id}, is not found"
        )))
    })?;
    Ok(Json(rt::NodeResponse { node }))
}

async fn scheduler(State(rm): State<RmHandle>) -> Result<Json<rt::SchedulerResponse>, Failure> {
    let info = ask(&rm, |rm| rm.scheduler_report()).await?;
    Ok(Json(rt::SchedulerResponse {
        scheduler: rt::SchedulerWrapper {
            scheduler_info: info,
        },
    }))
}

async fn apps(State(rm): State<RmHandle>, Query(q): Q) -> Result<Json<rt::AppsResponse>, Failure> {
    let states: Vec<String> = q
        .get("states")
        .or_else(|| q.get("state"))
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_ascii_uppercase())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let queue = q.get("queue").cloned();
    let user = q.get("user").cloned();
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok());
    let mut list = ask(&rm, move |rm| {
        rm.apps_report(&states, queue.as_deref(), user.as_deref())
    })
    .await?;
    if let Some(l) = limit {
        list.truncate(l);
    }
    Ok(Json(list.into()))
}

async fn app(
    State(rm): State<RmHandle>,
    Path(id): Path<String>,
) -> Result<Json<rt::AppResponse>, Failure> {
    let id = parse_app(&id)?;
    let app = ask(&rm, move |rm| rm.app_report(id)).await??;
    Ok(Json(rt::AppResponse { app }))
}

async fn app_state(
    State(rm): State<RmHandle>,
    Path(id): Path<String>,
) -> Result<Json<rt::AppState>, Failure> {
    let id = parse_app(&id)?;
    let app = ask(&rm, move |rm| rm.app_report(id)).await??;
    Ok(Json(rt::AppState {
        state: app.state,
        diagnostics: None,
    }))
}

async fn put_state(
    State(rm): State<RmHandle>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<rt::AppState>, Failure> {
    let id = parse_app(&id)?;
    let target: rt::AppState = serde_json::from_slice(&body).map_err(|e| {
        Failure(RestFailure::bad_request(format!(
            "the body is not an app state: {e}"
        )))
    })?;
    if target.state != "KILLED" {
        return Err(Failure(RestFailure::bad_request(
            "Only 'KILLED' is allowed as a target state.",
        )));
    }
    let diagnostics = target.diagnostics;
    let state = ask(&rm, move |rm| rm.kill(id, diagnostics)).await??;
    Ok(Json(rt::AppState {
        state,
        diagnostics: None,
    }))
}

async fn attempts(
    State(rm): State<RmHandle>,
    Path(id): Path<String>,
) -> Result<Json<rt::AppAttemptsResponse>, Failure> {
    let id = parse_app(&id)?;
    let list = ask(&rm, move |rm| rm.attempts_report(id)).await??;
    Ok(Json(list.into()))
}

async fn containers(
    State(rm): State<RmHandle>,
    Path((id, attempt)): Path<(String, String)>,
) -> Result<Json<rt::ContainersResponse>, Failure> {
    let app = parse_app(&id)?;
    let attempt: ApplicationAttemptId = match attempt.parse::<i32>() {
        Ok(n) => ApplicationAttemptId::new(app, n),
        Err(_) => attempt.parse().map_err(|e| {
            Failure(RestFailure::bad_request(format!(
                "Invalid AppAttemptId: {attempt} ({e})"
            )))
        })?,
    };
    let list = ask(&rm, move |rm| rm.containers_report(attempt)).await??;
    Ok(Json(list.into()))
}

async fn new_application(State(rm): State<RmHandle>) -> Result<Json<rt::NewApplication>, Failure> {
    let (id, max) = ask(&rm, |rm| rm.new_application()).await?;
    Ok(Json(rt::NewApplication {
        application_id: id.to_string(),
        maximum_resource_capability: rt::ResourceInfo::new(max.memory_mb, max.vcores),
    }))
}

fn submission(ctx: rt::ApplicationSubmissionContext, user: String) -> Result<Submission, Failure> {
    let bad = |m: String| Failure(RestFailure::bad_request(m));
    let id: ApplicationId = ctx.application_id.parse().map_err(|e| {
        bad(format!(
            "Trying to submit an application with an invalid application id: {e}"
        ))
    })?;
    let spec = ctx.am_container_spec;
    let mut credentials = Credentials::new();
    if let Some(c) = &spec.credentials {
        for e in &c.tokens.entry {
            let t = Token::from_url_string(&e.value).map_err(|err| {
                bad(format!(
                    "credentials token {:?} does not decode: {err}",
                    e.key
                ))
            })?;
            credentials.add_token(e.key.clone(), t);
        }
        for e in &c.secrets.entry {
            let v = e.value.trim_end_matches('=');
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(v))
                .map_err(|err| {
                    bad(format!(
                        "credentials secret {:?} is not base64: {err}",
                        e.key
                    ))
                })?;
            credentials.add_secret(e.key.clone(), bytes);
        }
    }
    let local_resources = spec
        .local_resources
        .entry
        .iter()
        .map(|e| {
            (
                e.key.clone(),
                LocalResource {
                    uri: e.value.resource.clone(),
                    kind: if e.value.kind.is_empty() {
                        "FILE".into()
                    } else {
                        e.value.kind.clone()
                    },
                    size: e.value.size,
                    timestamp: e.value.timestamp,
                },
            )
        })
        .collect();
    Ok(Submission {
        id,
        name: ctx.application_name,
        queue: ctx
            .queue
            .filter(|q| !q.is_empty())
            .unwrap_or_else(|| "default".into()),
        user,
        app_type: ctx.application_type,
        tags: ctx.application_tags.map(|t| t.tag).unwrap_or_default(),
        priority: ctx.priority.unwrap_or(0),
        max_attempts: ctx.max_app_attempts.unwrap_or(0),
        keep_containers: ctx.keep_containers_across_application_attempts,
        am: AmSpec {
            commands: spec.commands.command,
            environment: spec
                .environment
                .entry
                .into_iter()
                .map(|e| (e.key, e.value))
                .collect(),
            local_resources,
            credentials,
            resource: Res::new(ctx.resource.memory, ctx.resource.v_cores),
        },
    })
}

async fn submit(
    State(rm): State<RmHandle>,
    Query(q): Q,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    let user = user(&q);
    let ctx: rt::ApplicationSubmissionContext = serde_json::from_slice(&body).map_err(|e| {
        Failure(RestFailure::bad_request(format!(
            "the body is not an application-submission-context: {e}"
        )))
    })?;
    let sub = submission(ctx, user)?;
    let id = sub.id;
    ask(&rm, move |rm| rm.submit(sub)).await??;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let mut resp = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("http://{host}/ws/v1/cluster/apps/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

fn parse_container(id: &str) -> Result<ContainerId, Failure> {
    id.parse().map_err(|e| {
        Failure(RestFailure::bad_request(format!(
            "Invalid ContainerId: {id} ({e})"
        )))
    })
}

async fn kill_container(
    State(rm): State<RmHandle>,
    Path(id): Path<String>,
) -> Result<StatusCode, Failure> {
    let c = parse_container(&id)?;
    let nm = ask(&rm, move |rm| rm.container_nm(c))
        .await?
        .ok_or_else(|| Failure(RestFailure::not_found(format!("container {id} not found"))))?;
    match nm.call(move |nm| nm.kill_hard(c)).await {
        Some(true) => Ok(StatusCode::NO_CONTENT),
        _ => Err(Failure(RestFailure::not_found(format!(
            "container {id} has no running process"
        )))),
    }
}

async fn preempt_container(
    State(rm): State<RmHandle>,
    Path(id): Path<String>,
) -> Result<StatusCode, Failure> {
    let c = parse_container(&id)?;
    ask(&rm, move |rm| rm.preempt(c)).await??;
    Ok(StatusCode::NO_CONTENT)
}

async fn lose_node(
    State(rm): State<RmHandle>,
    Path(id): Path<String>,
) -> Result<StatusCode, Failure> {
    ask(&rm, move |rm| rm.lose_node(&id)).await??;
    Ok(StatusCode::NO_CONTENT)
}

async fn extra_containers(
    State(rm): State<RmHandle>,
    Path(id): Path<String>,
    Query(q): Q,
) -> Result<StatusCode, Failure> {
    let app = parse_app(&id)?;
    let count: u32 = q
        .get("count")
        .ok_or_else(|| Failure(RestFailure::bad_request("count is required: ?count=K")))?
        .parse()
        .map_err(|e| {
            Failure(RestFailure::bad_request(format!(
                "count must be a non-negative integer: {e}"
            )))
        })?;
    ask(&rm, move |rm| rm.extra_containers(app, count)).await??;
    Ok(StatusCode::NO_CONTENT)
}

/// `/cluster`: the RM's web UI page, reduced to a list of applications (clients probe it to find the
/// active ResourceManager).
async fn ui(State(rm): State<RmHandle>) -> Result<axum::response::Html<String>, Failure> {
    let apps = ask(&rm, |rm| rm.apps_report(&[], None, None)).await?;
    let mut html = String::from(
        "<!DOCTYPE html><html><head><title>All Applications</title></head><body>\
         <h1>spindle mini-yarn: all applications</h1><table><tr><th>ID</th><th>User</th>\
         <th>Name</th><th>Queue</th><th>State</th><th>FinalStatus</th></tr>",
    );
    for a in apps {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&a.id),
            escape(&a.user),
            escape(&a.name),
            escape(&a.queue),
            a.state,
            a.final_status
        ));
    }
    html.push_str("</table></body></html>");
    Ok(axum::response::Html(html))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
