//! The ResourceManager's REST API (`/ws/v1/cluster`): a client, and the JSON records it speaks.
//!
//! The CLI submits, watches and kills applications through this API, and reads nodes, queues and
//! metrics; the embedded mini cluster serves the very same [`types`]. Simple (pseudo) authentication is
//! a `user.name` query parameter on every request. With ResourceManager HA the client is given every
//! RM's web address and moves on to the next one when an RM cannot be reached or is standby (a standby
//! RM redirects web-service calls to the active one).

mod error;
pub(crate) mod jaxb;
pub mod types;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

pub use error::RestError;
pub(crate) use error::{body_excerpt, remote_exception};
pub use jaxb::{Entries, Entry, Long};
use types::{
    AppAttemptInfo, AppAttemptsResponse, AppInfo, AppResponse, AppState,
    ApplicationSubmissionContext, AppsResponse, ClusterInfo, ClusterInfoResponse, ClusterMetrics,
    ClusterMetricsResponse, ContainerInfo, ContainersResponse, NewApplication, NodeInfo,
    NodeResponse, NodesResponse, SchedulerInfo, SchedulerResponse,
};

/// Default time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for a whole request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Application states after which an application never changes again.
pub const FINAL_APP_STATES: [&str; 3] = ["FINISHED", "FAILED", "KILLED"];

/// Filters for [`RmClient::apps`]; empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppsQuery {
    /// Application states (`RUNNING`, `ACCEPTED`, ...).
    pub states: Vec<String>,
    /// Final status (`SUCCEEDED`, ...).
    pub final_status: Option<String>,
    /// Submitting user.
    pub user: Option<String>,
    /// Queue.
    pub queue: Option<String>,
    /// Application types (`SPINDLE`, `MAPREDUCE`, ...).
    pub application_types: Vec<String>,
    /// Tags (any of).
    pub application_tags: Vec<String>,
    /// Application name.
    pub name: Option<String>,
    /// At most this many applications.
    pub limit: Option<u32>,
}

impl AppsQuery {
    fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        let mut list = |key, values: &[String]| {
            if !values.is_empty() {
                params.push((key, values.join(",")));
            }
        };
        list("states", &self.states);
        list("applicationTypes", &self.application_types);
        list("applicationTags", &self.application_tags);
        let singles = [
            ("finalStatus", &self.final_status),
            ("user", &self.user),
            ("queue", &self.queue),
            ("name", &self.name),
        ];
        for (key, value) in singles {
            if let Some(v) = value {
                params.push((key, v.clone()));
            }
        }
        if let Some(limit) = self.limit {
            params.push(("limit", limit.to_string()));
        }
        params
    }
}

/// What a kill request found.
#[derive(Clone, Debug, PartialEq)]
pub enum KillOutcome {
    /// HTTP 200: the application is in a final state (`KILLED`, or it had already finished or failed).
    Done(AppState),
    /// HTTP 202: the kill is under way; the state is the application's current one.
    Accepted(AppState),
}

/// A client of the ResourceManager's REST API, for one RM or an HA set.
#[derive(Debug)]
pub struct RmClient {
    http: reqwest::Client,
    bases: Vec<Url>,
    /// Index in `bases` of the RM that answered last; tried first next time.
    current: AtomicUsize,
    user: Option<String>,
}

impl RmClient {
    /// A client for the ResourceManager(s) at `urls` (web addresses such as `http://rm:8088`; more than
    /// one with HA), authenticating as `user` with simple auth, or as the RM's static web user if `None`.
    pub fn new<S: AsRef<str>>(urls: &[S], user: Option<&str>) -> Result<Self, RestError> {
        Self::with_timeouts(urls, user, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT)
    }

    /// [`RmClient::new`] with explicit connect and request timeouts.
    pub fn with_timeouts<S: AsRef<str>>(
        urls: &[S],
        user: Option<&str>,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self, RestError> {
        let bases = urls
            .iter()
            .map(|u| parse_base(u.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if bases.is_empty() {
            return Err(RestError::InvalidUrl {
                url: String::new(),
                reason: "no ResourceManager web address given".to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .build()
            .map_err(|e| RestError::InvalidUrl {
                url: urls[0].as_ref().to_owned(),
                reason: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(RmClient {
            http,
            bases,
            current: AtomicUsize::new(0),
            user: user.map(str::to_owned),
        })
    }

    /// The ResourceManager web addresses, in the order given.
    pub fn urls(&self) -> &[Url] {
        &self.bases
    }

    /// The web address of the RM that answered last (the active one, with HA).
    pub fn active_url(&self) -> &Url {
        &self.bases[self.current.load(Ordering::Relaxed) % self.bases.len()]
    }

    /// `GET /ws/v1/cluster/info`.
    pub async fn cluster_info(&self) -> Result<ClusterInfo, RestError> {
        let r: ClusterInfoResponse = self.get(&["info"], &[], "the cluster info request").await?;
        Ok(r.cluster_info)
    }

    /// `GET /ws/v1/cluster/metrics`.
    pub async fn metrics(&self) -> Result<ClusterMetrics, RestError> {
        let r: ClusterMetricsResponse = self
            .get(&["metrics"], &[], "the cluster metrics request")
            .await?;
        Ok(r.cluster_metrics)
    }

    /// `GET /ws/v1/cluster/nodes[?states=..]`: nodes in any of `states` (`RUNNING`, `UNHEALTHY`,
    /// `LOST`, ...), or every node the RM knows when `states` is empty.
    pub async fn nodes(&self, states: &[&str]) -> Result<Vec<NodeInfo>, RestError> {
        let mut query = Vec::new();
        if !states.is_empty() {
            query.push(("states", states.join(",")));
        }
        let r: NodesResponse = self
            .get(&["nodes"], &query, "the node list request")
            .await?;
        Ok(r.into_vec())
    }

    /// `GET /ws/v1/cluster/nodes/{node_id}`.
    pub async fn node(&self, node_id: &str) -> Result<NodeInfo, RestError> {
        let action = format!("the report of node {node_id}");
        let r: NodeResponse = self.get(&["nodes", node_id], &[], &action).await?;
        Ok(r.node)
    }

    /// `GET /ws/v1/cluster/scheduler`: the scheduler and its queues.
    pub async fn scheduler(&self) -> Result<SchedulerInfo, RestError> {
        let r: SchedulerResponse = self
            .get(&["scheduler"], &[], "the scheduler request")
            .await?;
        Ok(r.scheduler.scheduler_info)
    }

    /// `GET /ws/v1/cluster/apps` with filters.
    pub async fn apps(&self, query: &AppsQuery) -> Result<Vec<AppInfo>, RestError> {
        let r: AppsResponse = self
            .get(
                &["apps"],
                &query.to_params(),
                "the application list request",
            )
            .await?;
        Ok(r.into_vec())
    }

    /// `GET /ws/v1/cluster/apps/{app_id}`: the application report.
    pub async fn app(&self, app_id: &str) -> Result<AppInfo, RestError> {
        let action = format!("the report of {app_id}");
        let r: AppResponse = self.get(&["apps", app_id], &[], &action).await?;
        Ok(r.app)
    }

    /// `GET /ws/v1/cluster/apps/{app_id}/state`.
    pub async fn app_state(&self, app_id: &str) -> Result<AppState, RestError> {
        let action = format!("the state of {app_id}");
        self.get(&["apps", app_id, "state"], &[], &action).await
    }

    /// `PUT /ws/v1/cluster/apps/{app_id}/state` with `{"state":"KILLED"}`: asks the RM to kill the
    /// application, and returns as soon as the RM has accepted (202) or reports a final state (200).
    pub async fn kill(
        &self,
        app_id: &str,
        diagnostics: Option<&str>,
    ) -> Result<KillOutcome, RestError> {
        let action = format!("the kill of {app_id}");
        let body = AppState {
            state: "KILLED".to_owned(),
            diagnostics: diagnostics.map(str::to_owned),
        };
        let body = serde_json::to_vec(&body).expect("an AppState always serializes");
        let answer = self
            .request(
                Method::PUT,
                &["apps", app_id, "state"],
                &[],
                Some(body),
                &action,
            )
            .await?;
        let state: AppState = answer.json(&action)?;
        match answer.status {
            StatusCode::OK => Ok(KillOutcome::Done(state)),
            StatusCode::ACCEPTED => Ok(KillOutcome::Accepted(state)),
            other => Err(answer.unexpected(&action, format!("HTTP {other}"))),
        }
    }

    /// Kills the application and polls its state every `poll` until it is final, for at most `limit`.
    /// Returns the final state (`KILLED`, or `FINISHED`/`FAILED` if it ended on its own first).
    pub async fn kill_and_wait(
        &self,
        app_id: &str,
        diagnostics: Option<&str>,
        poll: Duration,
        limit: Duration,
    ) -> Result<AppState, RestError> {
        let started = Instant::now();
        let mut state = match self.kill(app_id, diagnostics).await? {
            KillOutcome::Done(state) => return Ok(state),
            KillOutcome::Accepted(state) => state,
        };
        while !FINAL_APP_STATES.contains(&state.state.as_str()) {
            if started.elapsed() >= limit {
                return Err(RestError::KillTimedOut {
                    app_id: app_id.to_owned(),
                    state: state.state,
                    waited_ms: started.elapsed().as_millis(),
                });
            }
            tokio::time::sleep(poll).await;
            state = self.app_state(app_id).await?;
        }
        Ok(state)
    }

    /// `GET /ws/v1/cluster/apps/{app_id}/appattempts`.
    pub async fn app_attempts(&self, app_id: &str) -> Result<Vec<AppAttemptInfo>, RestError> {
        let action = format!("the attempts of {app_id}");
        let r: AppAttemptsResponse = self
            .get(&["apps", app_id, "appattempts"], &[], &action)
            .await?;
        Ok(r.into_vec())
    }

    /// `GET /ws/v1/cluster/apps/{app_id}/appattempts/{attempt_id}/containers`: the attempt's live
    /// containers.
    pub async fn attempt_containers(
        &self,
        app_id: &str,
        attempt_id: &str,
    ) -> Result<Vec<ContainerInfo>, RestError> {
        let action = format!("the containers of {attempt_id}");
        let path = ["apps", app_id, "appattempts", attempt_id, "containers"];
        let r: ContainersResponse = self.get(&path, &[], &action).await?;
        Ok(r.into_vec())
    }

    /// `POST /ws/v1/cluster/apps/new-application`: a new application id and the largest container.
    pub async fn new_application(&self) -> Result<NewApplication, RestError> {
        let action = "the new application request";
        let answer = self
            .request(
                Method::POST,
                &["apps", "new-application"],
                &[],
                None,
                action,
            )
            .await?;
        answer.expect_status(action, &[StatusCode::OK])?;
        let app: NewApplication = answer.json(action)?;
        if app.application_id.is_empty() {
            return Err(answer.unexpected(action, "no application-id in the answer".to_owned()));
        }
        Ok(app)
    }

    /// `POST /ws/v1/cluster/apps`: submits the application; returns once the RM has accepted it (202).
    pub async fn submit(&self, context: &ApplicationSubmissionContext) -> Result<(), RestError> {
        let action = format!("the submission of {}", context.application_id);
        let body = serde_json::to_vec(context).expect("a submission context always serializes");
        let answer = self
            .request(Method::POST, &["apps"], &[], Some(body), &action)
            .await?;
        answer.expect_status(&action, &[StatusCode::ACCEPTED, StatusCode::OK])
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, String)],
        action: &str,
    ) -> Result<T, RestError> {
        let answer = self.request(Method::GET, path, query, None, action).await?;
        answer.expect_status(action, &[StatusCode::OK])?;
        answer.json(action)
    }

    /// Sends one request to the active RM, failing over to the others on a connection failure or a
    /// standby redirect. Error statuses come back as [`RestError::Refused`].
    async fn request(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
        action: &str,
    ) -> Result<Answer, RestError> {
        let first = self.current.load(Ordering::Relaxed);
        let mut candidates: Vec<Url> = (0..self.bases.len())
            .map(|i| self.bases[(first + i) % self.bases.len()].clone())
            .collect();
        let mut last_connect_error = None;
        let mut redirected = false;
        let mut i = 0;
        while i < candidates.len() {
            let base = candidates[i].clone();
            i += 1;
            let url = self.url(&base, path, query);
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, "application/json");
            if let Some(body) = &body {
                req = req
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let resp = match req.send().await {
                Ok(resp) => resp,
                Err(e) if e.is_connect() => {
                    tracing::debug!(%url, error = %e, "ResourceManager unreachable, trying the next");
                    last_connect_error = Some(error_chain(&e.without_url()));
                    continue;
                }
                Err(e) => {
                    return Err(RestError::Transport {
                        action: action.to_owned(),
                        url: url.to_string(),
                        reason: error_chain(&e.without_url()),
                    });
                }
            };
            let status = resp.status();
            if status.is_redirection() {
                // A standby RM redirects web-service calls to the active RM.
                redirected = true;
                let target = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .and_then(|l| parse_base(l.origin().ascii_serialization().as_str()).ok());
                tracing::debug!(%url, ?target, "ResourceManager is standby, trying the next");
                if let Some(target) = target {
                    if !candidates.contains(&target) && candidates.len() < 2 * self.bases.len() + 2
                    {
                        candidates.push(target);
                    }
                }
                continue;
            }
            let bytes = resp.bytes().await.map_err(|e| RestError::Transport {
                action: action.to_owned(),
                url: url.to_string(),
                reason: error_chain(&e.without_url()),
            })?;
            if is_standby_notice(&bytes) {
                // A standby RM that knows of no active one says so in plain text.
                tracing::debug!(%url, "ResourceManager is standby with no active peer known");
                redirected = true;
                continue;
            }
            if let Some(pos) = self.bases.iter().position(|b| *b == base) {
                self.current.store(pos, Ordering::Relaxed);
            }
            return Ok(Answer {
                url,
                status,
                body: bytes,
            });
        }
        let urls = candidates
            .iter()
            .map(|u| u.as_str().trim_end_matches('/'))
            .collect::<Vec<_>>()
            .join(", ");
        Err(match (redirected, last_connect_error) {
            (false, Some(reason)) => RestError::Unreachable { urls, reason },
            _ => RestError::NoActive { urls },
        })
    }

    fn url(&self, base: &Url, path: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = base.clone();
        url.path_segments_mut()
            .expect("a base URL is always http(s)")
            .pop_if_empty()
            .extend(["ws", "v1", "cluster"])
            .extend(path);
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
            if let Some(user) = &self.user {
                pairs.append_pair("user.name", user);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }
}

/// One answer from the RM.
struct Answer {
    url: Url,
    status: StatusCode,
    body: Bytes,
}

impl Answer {
    fn expect_status(&self, action: &str, ok: &[StatusCode]) -> Result<(), RestError> {
        if ok.contains(&self.status) {
            Ok(())
        } else if self.status.is_success() {
            Err(self.unexpected(action, format!("HTTP {}", self.status)))
        } else {
            Err(RestError::refused(action, self.status, &self.body))
        }
    }

    fn json<T: DeserializeOwned>(&self, action: &str) -> Result<T, RestError> {
        if !self.status.is_success() {
            return Err(RestError::refused(action, self.status, &self.body));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            self.unexpected(
                action,
                format!("{e}; the body was: {}", error::body_excerpt(&self.body)),
            )
        })
    }

    fn unexpected(&self, action: &str, reason: String) -> RestError {
        RestError::Unexpected {
            action: action.to_owned(),
            url: self.url.to_string(),
            reason,
        }
    }
}

/// Whether a body is the plain-text notice a standby RM writes instead of serving a request.
fn is_standby_notice(body: &[u8]) -> bool {
    const NOTICES: [&[u8]; 3] = [
        b"This is standby RM.",
        b"Can not find any active RM.",
        b"There is no active RM right now.",
    ];
    NOTICES.iter().any(|n| body.starts_with(n))
}

/// Parses a ResourceManager web address given by the user (`http://rm:8088`, `rm:8088`).
fn parse_base(raw: &str) -> Result<Url, RestError> {
    let invalid = |reason: &str| RestError::InvalidUrl {
        url: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("http://{trimmed}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http:// and https:// are supported"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    Ok(url)
}

/// A reqwest error with its causes (reqwest's own message hides e.g. "Connection refused").
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
