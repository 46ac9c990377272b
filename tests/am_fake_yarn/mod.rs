//! A scripted YARN for the ApplicationMaster's tests: a ResourceManager scheduler port and one
//! NodeManager, both real Hadoop RPC servers (the `yarn` crate's `ipc::Server` with TOKEN
//! authentication), whose answers the test decides: which containers the next allocate grants,
//! which completions it reports, whether it asks the AM to shut down. Everything the AM sends is
//! recorded for assertions.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use spindle::rpc::{ResourceId, Resources, Secret};
use spindle::task_executor::TaskExecutorConfig;
use yarn::amrm::AmRmClient;
use yarn::credentials::Credentials;
use yarn::credentials::{AMRM_TOKEN_KIND, NM_TOKEN_KIND, Token};
use yarn::ipc::{
    CallContext, Handler, HandlerFuture, InvalidToken, RemoteException, Server, TokenVerifier,
    VerifiedToken, decode_request,
};
use yarn::proto::hadoop::common::TokenProto;
use yarn::proto::hadoop::yarn::{
    AllocateRequestProto, AllocateResponseProto, AmCommandProto, ContainerExceptionMapProto,
    ContainerLaunchContextProto, ContainerProto, ContainerStatusProto,
    FinishApplicationMasterRequestProto, FinishApplicationMasterResponseProto, NmTokenProto,
    PriorityProto, RegisterApplicationMasterRequestProto, RegisterApplicationMasterResponseProto,
    SerializedExceptionProto, StartContainersRequestProto, StartContainersResponseProto,
    StopContainersRequestProto, StopContainersResponseProto,
};
use yarn::records::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

const AMRM_PASSWORD: &[u8] = b"amrm-password";
const NM_PASSWORD: &[u8] = b"nm-password";

/// What the fake cluster has seen and will answer.
#[derive(Default)]
pub struct State {
    pub max_capability: Resource,
    pub previous: Vec<ContainerProto>,
    pub registrations: Vec<RegisterApplicationMasterRequestProto>,
    pub allocates: Vec<AllocateRequestProto>,
    pub to_grant: Vec<ContainerProto>,
    pub to_complete: Vec<ContainerStatusProto>,
    pub shutdown: bool,
    pub started: Vec<(String, ContainerLaunchContextProto)>,
    pub stopped: Vec<String>,
    pub fail_start: HashSet<String>,
    pub finished: Option<FinishApplicationMasterRequestProto>,
    next_container: i64,
}

impl State {
    /// The last number of containers asked for at `priority` (the `*` row), if any ask was sent.
    pub fn last_ask(&self, priority: i32) -> Option<i32> {
        self.ask_history(priority).last().copied()
    }

    /// Every `*` total sent for `priority`, in order.
    pub fn ask_history(&self, priority: i32) -> Vec<i32> {
        self.allocates
            .iter()
            .flat_map(|a| a.ask.iter())
            .filter(|r| {
                r.priority.and_then(|p| p.priority) == Some(priority)
                    && r.resource_name.as_deref() == Some("*")
            })
            .map(|r| r.num_containers.unwrap_or(0))
            .collect()
    }

    /// Every container the AM released.
    pub fn released(&self) -> Vec<String> {
        self.allocates
            .iter()
            .flat_map(|a| a.release.iter())
            .filter_map(|c| ContainerId::try_from(c).ok())
            .map(|c| c.to_string())
            .collect()
    }

    pub fn started_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.started.iter().map(|(id, _)| id.clone()).collect();
        ids.sort();
        ids
    }
}

pub struct FakeYarn {
    _rm: Server,
    _nm: Server,
    pub rm_address: String,
    pub node: NodeId,
    pub attempt: ApplicationAttemptId,
    pub state: Arc<Mutex<State>>,
}

struct AnyToken(&'static [u8], String);

impl TokenVerifier for AnyToken {
    fn verify(&self, _identifier: &[u8]) -> Result<VerifiedToken, InvalidToken> {
        Ok(VerifiedToken {
            password: self.0.to_vec(),
            user: self.1.clone(),
        })
    }
}

struct Rm {
    state: Arc<Mutex<State>>,
    node: NodeId,
}

struct Nm {
    state: Arc<Mutex<State>>,
}

fn nm_token(node: &NodeId) -> NmTokenProto {
    NmTokenProto {
        node_id: Some(node.into()),
        token: Some(TokenProto {
            identifier: b"nm-token".to_vec(),
            password: NM_PASSWORD.to_vec(),
            kind: NM_TOKEN_KIND.to_owned(),
            service: node.to_string(),
        }),
    }
}

impl Handler for Rm {
    fn call<'a>(
        &'a self,
        _context: &'a CallContext,
        method: &'a str,
        request: &'a [u8],
    ) -> HandlerFuture<'a> {
        Box::pin(async move {
            let mut state = self.state.lock().unwrap();
            match method {
                "registerApplicationMaster" => {
                    let req: RegisterApplicationMasterRequestProto =
                        decode_request(method, request)?;
                    state.registrations.push(req);
                    Ok(RegisterApplicationMasterResponseProto {
                        maximum_capability: Some(state.max_capability.into()),
                        containers_from_previous_attempts: state.previous.clone(),
                        nm_tokens_from_previous_attempts: if state.previous.is_empty() {
                            vec![]
                        } else {
                            vec![nm_token(&self.node)]
                        },
                        queue: Some("default".into()),
                        ..Default::default()
                    }
                    .encode_to_vec())
                }
                "allocate" => {
                    let req: AllocateRequestProto = decode_request(method, request)?;
                    let response_id = req.response_id.unwrap_or(0) + 1;
                    state.allocates.push(req);
                    let allocated = std::mem::take(&mut state.to_grant);
                    Ok(AllocateResponseProto {
                        a_m_command: state.shutdown.then_some(AmCommandProto::AmShutdown as i32),
                        response_id: Some(response_id),
                        nm_tokens: if allocated.is_empty() {
                            vec![]
                        } else {
                            vec![nm_token(&self.node)]
                        },
                        allocated_containers: allocated,
                        completed_container_statuses: std::mem::take(&mut state.to_complete),
                        num_cluster_nodes: Some(1),
                        ..Default::default()
                    }
                    .encode_to_vec())
                }
                "finishApplicationMaster" => {
                    let req: FinishApplicationMasterRequestProto = decode_request(method, request)?;
                    state.finished = Some(req);
                    Ok(FinishApplicationMasterResponseProto {
                        is_unregistered: Some(true),
                    }
                    .encode_to_vec())
                }
                other => Err(RemoteException::no_such_method(yarn::amrm::PROTOCOL, other)),
            }
        })
    }
}

impl Handler for Nm {
    fn call<'a>(
        &'a self,
        _context: &'a CallContext,
        method: &'a str,
        request: &'a [u8],
    ) -> HandlerFuture<'a> {
        Box::pin(async move {
            let mut state = self.state.lock().unwrap();
            match method {
                "startContainers" => {
                    let req: StartContainersRequestProto = decode_request(method, request)?;
                    let mut response = StartContainersResponseProto::default();
                    for start in req.start_container_request {
                        // The fake's container token identifier is the container id string.
                        let token = start.container_token.unwrap_or_default();
                        let id = String::from_utf8_lossy(&token.identifier).into_owned();
                        let id_proto = id.parse::<ContainerId>().ok().map(Into::into);
                        if state.fail_start.contains(&id) {
                            response.failed_requests.push(ContainerExceptionMapProto {
                                container_id: id_proto,
                                exception: Some(SerializedExceptionProto {
                                    message: Some("localization failed".into()),
                                    class_name: Some(
                                        "org.apache.hadoop.yarn.exceptions.YarnException".into(),
                                    ),
                                    ..Default::default()
                                }),
                            });
                        } else {
                            state
                                .started
                                .push((id, start.container_launch_context.unwrap_or_default()));
                            response.succeeded_requests.extend(id_proto);
                        }
                    }
                    Ok(response.encode_to_vec())
                }
                "stopContainers" => {
                    let req: StopContainersRequestProto = decode_request(method, request)?;
                    let mut response = StopContainersResponseProto::default();
                    for id in req.container_id {
                        if let Ok(c) = ContainerId::try_from(&id) {
                            state.stopped.push(c.to_string());
                        }
                        response.succeeded_requests.push(id);
                    }
                    Ok(response.encode_to_vec())
                }
                other => Err(RemoteException::no_such_method(yarn::nm::PROTOCOL, other)),
            }
        })
    }
}

impl FakeYarn {
    /// Starts the fake RM and NM; the scheduler grants at most `max_capability`.
    pub async fn start(max_capability: Resource) -> FakeYarn {
        let attempt = ApplicationAttemptId::new(ApplicationId::new(1_700_000_000_000, 1), 1);
        let state = Arc::new(Mutex::new(State {
            max_capability,
            next_container: 2,
            ..Default::default()
        }));
        let nm = Server::builder()
            .protocol(
                yarn::nm::PROTOCOL,
                Arc::new(Nm {
                    state: state.clone(),
                }),
            )
            .token_auth(Arc::new(AnyToken(NM_PASSWORD, attempt.to_string())))
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let node = NodeId::new("127.0.0.1", i32::from(nm.local_addr().port()));
        let rm = Server::builder()
            .protocol(
                yarn::amrm::PROTOCOL,
                Arc::new(Rm {
                    state: state.clone(),
                    node: node.clone(),
                }),
            )
            .token_auth(Arc::new(AnyToken(AMRM_PASSWORD, attempt.to_string())))
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        FakeYarn {
            rm_address: rm.local_addr().to_string(),
            _rm: rm,
            _nm: nm,
            node,
            attempt,
            state,
        }
    }

    /// An AM client of the fake scheduler, with the attempt's AMRMToken.
    pub fn am_client(&self) -> AmRmClient {
        AmRmClient::new(self.rm_address.clone(), self.amrm_token(), vec![])
    }

    /// The attempt's AMRMToken.
    /// What a session ApplicationMaster on this fake YARN starts from: `conf`, the secret, and
    /// made-up staged files (the TaskExecutors of these tests are started in process).
    #[allow(dead_code)] // not every test file starts a session
    pub fn session_params(
        &self,
        conf: spindle::config::Configuration,
        secret: &[u8],
    ) -> spindle::jobmanager::SessionParams {
        spindle::jobmanager::SessionParams {
            host: "127.0.0.1".into(),
            scheduler: self.rm_address.clone(),
            protection: vec![],
            amrm_token: self.amrm_token(),
            secret: Secret::new(secret.to_vec()).unwrap(),
            conf,
            binary: spindle::yarn_driver::StagedFile::parse("hdfs://nn:8020/s/spindle|100|1")
                .unwrap(),
            staged_conf: spindle::yarn_driver::StagedFile::parse(
                "hdfs://nn:8020/s/spindle-conf.yaml|10|2",
            )
            .unwrap(),
            ship: vec![],
            job: None,
        }
    }

    pub fn amrm_token(&self) -> Token {
        Token::new(b"amrm-token".to_vec(), AMRM_PASSWORD, AMRM_TOKEN_KIND, "")
    }

    /// A container of this attempt on the fake node (not yet granted).
    pub fn container(&self, priority: i32, resource: Resource) -> ContainerProto {
        let mut state = self.state.lock().unwrap();
        let id = ContainerId::new(self.attempt, state.next_container);
        state.next_container += 1;
        ContainerProto {
            id: Some(id.into()),
            node_id: Some((&self.node).into()),
            resource: Some(resource.into()),
            priority: Some(PriorityProto {
                priority: Some(priority),
            }),
            container_token: Some(TokenProto {
                identifier: id.to_string().into_bytes(),
                password: b"container-token".to_vec(),
                kind: "ContainerToken".into(),
                service: self.node.to_string(),
            }),
            ..Default::default()
        }
    }

    /// Queues `n` containers at `priority` for the next allocate; returns their ids.
    pub fn grant(&self, priority: i32, n: usize, resource: Resource) -> Vec<String> {
        let containers: Vec<ContainerProto> =
            (0..n).map(|_| self.container(priority, resource)).collect();
        let ids = containers
            .iter()
            .map(|c| {
                ContainerId::try_from(c.id.as_ref().unwrap())
                    .unwrap()
                    .to_string()
            })
            .collect();
        self.state.lock().unwrap().to_grant.extend(containers);
        ids
    }

    /// Queues a completion for the next allocate.
    pub fn complete(&self, id: &str, exit_status: i32, diagnostics: &str) {
        let id: ContainerId = id.parse().unwrap();
        self.state
            .lock()
            .unwrap()
            .to_complete
            .push(ContainerStatusProto {
                container_id: Some(id.into()),
                state: Some(3),
                diagnostics: Some(diagnostics.to_owned()),
                exit_status: Some(exit_status),
                ..Default::default()
            });
    }

    /// Waits (bounded, generously) until `condition` holds of the recorded state.
    pub async fn wait_for(&self, what: &str, condition: impl Fn(&State) -> bool) {
        for _ in 0..2000 {
            if condition(&self.state.lock().unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the fake YARN never saw: {what}");
    }
}

/// The value after `name` in a command line.
pub fn flag<'a>(command: &'a str, name: &str) -> &'a str {
    let mut words = command.split_whitespace();
    words.find(|w| *w == name).unwrap();
    words.next().unwrap()
}

/// A TaskExecutor as `./spindle taskmanager ...` in the container would start.
pub fn task_executor(
    id: &str,
    context: &ContainerLaunchContextProto,
    log_dir: &std::path::Path,
) -> TaskExecutorConfig {
    let command = context.command.join(" ");
    let credentials = Credentials::from_bytes(context.tokens.as_deref().unwrap()).unwrap();
    let secret = Secret::new(credentials.secret("spindle.secret").unwrap().to_vec()).unwrap();
    let cpu: f64 = flag(&command, "--cpu-cores").parse().unwrap();
    let memory_mb: u64 = flag(&command, "--memory-mb").parse().unwrap();
    TaskExecutorConfig::new(
        flag(&command, "--am-address"),
        ResourceId(id.to_owned()),
        "127.0.0.1",
        flag(&command, "--slots").parse().unwrap(),
        Resources::new((cpu * 1000.0).round() as u64, memory_mb << 20),
        log_dir.join(id),
        secret,
    )
}
