//! Shared pieces of the mini-yarn end-to-end tests: an in-process cluster, REST submission of a
//! placeholder AM process, and a small ApplicationMaster written with the crate's own RPC client.
//!
//! The placeholder AM container copies its token file where the test can read it and sleeps; the
//! test then plays the AM over Hadoop RPC with that AMRMToken, exactly as a process inside the
//! container would. Killing the placeholder is the AM "exiting".

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use yarn::credentials::{Credentials, Token};
use yarn::ipc::{Auth, AuthToken, Client, ClientConfig, RpcError};
use yarn::mini::rpc::{AM_PROTOCOL, CM_PROTOCOL};
use yarn::mini::{MiniYarn, MiniYarnConfig};
use yarn::proto::hadoop::yarn as pb;
use yarn::records::{ApplicationAttemptId, ContainerId};
use yarn::rest::RmClient;
use yarn::rest::types as rt;

/// Upper bound for anything the tests wait for (a hang guard, not a timing assertion).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `f` every 25 ms until it returns `Some`, panicking after [`PATIENCE`] with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A running in-process cluster, its REST client and a scratch folder.
pub struct Cluster {
    pub mini: MiniYarn,
    pub rest: RmClient,
    pub scratch: PathBuf,
    pub journal: PathBuf,
}

pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mini-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Cluster {
    /// Starts a cluster with `cfg` (journal and work dir under a fresh scratch folder).
    pub async fn start(name: &str, cfg: MiniYarnConfig) -> Cluster {
        let scratch = scratch(name);
        let journal = scratch.join("journal.jsonl");
        let mini = MiniYarn::start(MiniYarnConfig {
            journal: Some(journal.clone()),
            work_dir: Some(scratch.join("cluster")),
            nm_heartbeat_ms: 20,
            ..cfg
        })
        .await
        .expect("the mini cluster starts");
        let rest = RmClient::new(
            &[format!("http://{}", mini.addresses().webapp)],
            Some("alice"),
        )
        .unwrap();
        Cluster {
            mini,
            rest,
            scratch,
            journal,
        }
    }

    /// Submits an application whose AM container runs `command`.
    pub async fn submit(
        &self,
        name: &str,
        command: &str,
        keep: bool,
        max_attempts: i32,
        extra: impl FnOnce(&mut rt::ApplicationSubmissionContext),
    ) -> String {
        let new = self.rest.new_application().await.unwrap();
        let mut ctx = rt::ApplicationSubmissionContext {
            application_id: new.application_id.clone(),
            application_name: name.into(),
            queue: Some("default".into()),
            application_type: "TEST".into(),
            max_app_attempts: Some(max_attempts),
            keep_containers_across_application_attempts: keep,
            resource: rt::ResourceInfo::new(1024, 1),
            am_container_spec: rt::ContainerLaunchContextInfo {
                commands: rt::Commands {
                    command: vec![command.into()],
                },
                ..Default::default()
            },
            ..Default::default()
        };
        extra(&mut ctx);
        self.rest.submit(&ctx).await.unwrap();
        new.application_id
    }

    /// Submits an application whose AM container publishes its token file into the scratch folder
    /// (as `<container id>.tokens`) and sleeps; returns the application id.
    pub async fn submit_placeholder(&self, name: &str, keep: bool, max_attempts: i32) -> String {
        let dir = self.scratch.display();
        let cmd = format!(
            "cp $HADOOP_TOKEN_FILE_LOCATION {dir}/$CONTAINER_ID.tmp && mv {dir}/$CONTAINER_ID.tmp {dir}/$CONTAINER_ID.tokens && exec sleep 600"
        );
        self.submit(name, &cmd, keep, max_attempts, |_| {}).await
    }

    /// Waits for attempt `attempt` of `app` to publish its tokens; returns an AM connected with them.
    pub async fn am(&self, app: &str, attempt: i32) -> Am {
        let prefix = format!(
            "container_{}_{:02}_",
            app.trim_start_matches("application_"),
            attempt
        );
        let (cid, path) = eventually("the AM container's token file", || {
            let scratch = self.scratch.clone();
            let prefix = prefix.clone();
            async move {
                std::fs::read_dir(&scratch).ok()?.flatten().find_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let cid = n.strip_suffix(".tokens")?.to_string();
                    cid.starts_with(&prefix).then(|| (cid, e.path()))
                })
            }
        })
        .await;
        let creds = Credentials::read_file(&path).unwrap();
        let token = creds
            .amrm_token()
            .expect("an AMRMToken in the AM's token file")
            .clone();
        let container: ContainerId = cid.parse().unwrap();
        Am::connect(&self.mini.addresses().scheduler, &token, container)
    }

    /// The journal lines so far.
    pub fn journal(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.journal)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until the app is in `state`.
    pub async fn wait_state(&self, app: &str, state: &str) -> rt::AppInfo {
        eventually(&format!("{app} to be {state}"), || async {
            let a = self.rest.app(app).await.unwrap();
            (a.state == state).then_some(a)
        })
        .await
    }

    pub async fn post(&self, path: &str) -> reqwest::StatusCode {
        reqwest::Client::new()
            .post(format!("http://{}{path}", self.mini.addresses().webapp))
            .send()
            .await
            .unwrap()
            .status()
    }
}

/// An ApplicationMaster driven by the test over Hadoop RPC.
pub struct Am {
    pub client: Client,
    pub attempt: ApplicationAttemptId,
    pub am_container: ContainerId,
    pub response_id: i32,
    pub nm_tokens: HashMap<String, Token>,
}

pub fn ask(priority: i32, memory: i64, num: i32) -> pb::ResourceRequestProto {
    pb::ResourceRequestProto {
        priority: Some(pb::PriorityProto {
            priority: Some(priority),
        }),
        resource_name: Some("*".into()),
        capability: Some(pb::ResourceProto {
            memory: Some(memory),
            virtual_cores: Some(1),
            ..Default::default()
        }),
        num_containers: Some(num),
        relax_locality: Some(true),
        ..Default::default()
    }
}

impl Am {
    pub fn connect(scheduler: &str, token: &Token, am_container: ContainerId) -> Am {
        let client = Client::new(ClientConfig::new(
            scheduler,
            AM_PROTOCOL,
            Auth::Token(AuthToken::new(
                token.identifier.clone(),
                token.password.clone(),
            )),
        ));
        Am {
            client,
            attempt: am_container.application_attempt_id,
            am_container,
            response_id: 0,
            nm_tokens: HashMap::new(),
        }
    }

    pub async fn register(&self) -> Result<pb::RegisterApplicationMasterResponseProto, RpcError> {
        self.client
            .call(
                "registerApplicationMaster",
                &pb::RegisterApplicationMasterRequestProto {
                    host: Some("127.0.0.1".into()),
                    rpc_port: Some(4321),
                    tracking_url: Some("http://127.0.0.1:4322/".into()),
                    ..Default::default()
                },
            )
            .await
    }

    /// One allocate with the current response id; remembers the new id and NMTokens.
    pub async fn allocate(
        &mut self,
        asks: Vec<pb::ResourceRequestProto>,
        release: Vec<ContainerId>,
    ) -> Result<pb::AllocateResponseProto, RpcError> {
        let req = pb::AllocateRequestProto {
            ask: asks,
            release: release.into_iter().map(Into::into).collect(),
            response_id: Some(self.response_id),
            progress: Some(0.5),
            ..Default::default()
        };
        let r: pb::AllocateResponseProto = self.client.call("allocate", &req).await?;
        self.response_id = r.response_id.unwrap_or(0);
        for t in &r.nm_tokens {
            let node = t.node_id.as_ref().unwrap();
            self.nm_tokens.insert(
                format!("{}:{}", node.host(), node.port()),
                Token::from(t.token.clone().unwrap()),
            );
        }
        Ok(r)
    }

    /// Heartbeats (no asks) until `pick` finds what it wants in a response.
    pub async fn until<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&pb::AllocateResponseProto) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let r = self.allocate(vec![], vec![]).await.unwrap();
            if let Some(v) = pick(&r) {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gave up waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Collects allocated containers over heartbeats until `n` arrived.
    pub async fn collect(&mut self, n: usize) -> Vec<pb::ContainerProto> {
        let mut got = Vec::new();
        self.until(&format!("{n} containers"), |r| {
            got.extend(r.allocated_containers.iter().cloned());
            (got.len() >= n).then_some(())
        })
        .await;
        got
    }

    pub async fn finish(
        &self,
        status: pb::FinalApplicationStatusProto,
        diagnostics: &str,
    ) -> Result<pb::FinishApplicationMasterResponseProto, RpcError> {
        self.client
            .call(
                "finishApplicationMaster",
                &pb::FinishApplicationMasterRequestProto {
                    diagnostics: Some(diagnostics.into()),
                    tracking_url: None,
                    final_application_status: Some(status as i32),
                },
            )
            .await
    }

    /// A ContainerManagementProtocol client for the container's node, with this AM's NMToken.
    pub fn nm(&self, c: &pb::ContainerProto) -> Client {
        let node = c.node_id.as_ref().unwrap();
        let addr = format!("{}:{}", node.host(), node.port());
        let token = self
            .nm_tokens
            .get(&addr)
            .expect("an NMToken for the container's node");
        Client::new(ClientConfig::new(
            addr,
            CM_PROTOCOL,
            Auth::Token(AuthToken::new(
                token.identifier.clone(),
                token.password.clone(),
            )),
        ))
    }

    /// Starts `command` in container `c`.
    pub async fn start(
        &self,
        c: &pb::ContainerProto,
        command: &str,
    ) -> pb::StartContainersResponseProto {
        let req = pb::StartContainersRequestProto {
            start_container_request: vec![pb::StartContainerRequestProto {
                container_launch_context: Some(pb::ContainerLaunchContextProto {
                    command: vec![command.into()],
                    environment: vec![pb::StringStringMapProto {
                        key: Some("GREETING".into()),
                        value: Some("hi".into()),
                    }],
                    ..Default::default()
                }),
                container_token: c.container_token.clone(),
            }],
        };
        self.nm(c).call("startContainers", &req).await.unwrap()
    }
}

pub fn container_id(c: &pb::ContainerProto) -> ContainerId {
    ContainerId::try_from(c.id.as_ref().unwrap()).unwrap()
}

pub fn status_of(
    r: &pb::AllocateResponseProto,
    c: ContainerId,
) -> Option<pb::ContainerStatusProto> {
    r.completed_container_statuses
        .iter()
        .find(|s| {
            s.container_id
                .as_ref()
                .and_then(|i| ContainerId::try_from(i).ok())
                == Some(c)
        })
        .cloned()
}

pub fn log_file(cluster: &Cluster, c: ContainerId, file: &str) -> PathBuf {
    let work = &cluster.mini.addresses().work_dir;
    let app = c.application_attempt_id.application_id.to_string();
    for entry in std::fs::read_dir(work).unwrap().flatten() {
        let p = entry
            .path()
            .join("logs")
            .join(&app)
            .join(c.to_string())
            .join(file);
        if p.exists() {
            return p;
        }
    }
    Path::new("/nonexistent").to_path_buf()
}

/// Processes whose working directory is under `dir` (container processes run in their work dirs).
pub fn processes_under(dir: &Path) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
            cwd.starts_with(dir)
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect()
}
