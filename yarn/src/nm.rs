//! The ApplicationMaster's side of `ContainerManagementProtocol`: start, stop and query containers.
//!
//! A NodeManager only talks to an AM that authenticates with the NMToken the RM handed out for
//! that node, and only starts a container whose container token (from the allocated
//! `ContainerProto`) it can verify. [`NmClient`] keeps one connection per node and the latest
//! NMToken for each; it is cheap to clone, so container launches can run beside the AM's control
//! loop and report back as messages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::credentials::Token;
use crate::ipc::{Auth, AuthToken, Client, ClientConfig, RpcError};
use crate::proto::hadoop::yarn::{
    ContainerLaunchContextProto, ContainerProto, ContainerStatusProto,
    GetContainerStatusesRequestProto, GetContainerStatusesResponseProto,
    StartContainerRequestProto, StartContainersRequestProto, StartContainersResponseProto,
    StopContainersRequestProto, StopContainersResponseProto,
};
use crate::records::{ContainerId, NodeId};
use crate::sasl::Qop;

/// The NodeManager protocol's name on the wire.
pub const PROTOCOL: &str = "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB";

/// What went wrong talking to a NodeManager.
#[derive(Debug, thiserror::Error)]
pub enum NmError {
    #[error(
        "no NMToken for node {0}: the ResourceManager sends one with the node's first container"
    )]
    NoToken(NodeId),
    #[error("the container has no {0}")]
    Incomplete(&'static str),
    #[error("NodeManager {node} refused container {container}: {class}: {message}")]
    Refused {
        node: NodeId,
        container: String,
        class: String,
        message: String,
    },
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

struct Shared {
    protection: Vec<Qop>,
    tokens: HashMap<NodeId, Token>,
    clients: HashMap<NodeId, (Token, Client)>,
}

/// A client of every NodeManager an AM's containers live on. Clones share connections and tokens.
#[derive(Clone)]
pub struct NmClient {
    shared: Arc<Mutex<Shared>>,
}

impl std::fmt::Debug for NmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = lock(&self.shared);
        f.debug_struct("NmClient")
            .field("nodes_with_tokens", &shared.tokens.len())
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl NmClient {
    /// A client accepting the given protection levels (empty: any).
    pub fn new(protection: Vec<Qop>) -> Self {
        NmClient {
            shared: Arc::new(Mutex::new(Shared {
                protection,
                tokens: HashMap::new(),
                clients: HashMap::new(),
            })),
        }
    }

    /// Keeps the latest NMToken for a node (from an allocate or register response).
    pub fn set_token(&self, node: NodeId, token: Token) {
        lock(&self.shared).tokens.insert(node, token);
    }

    fn client(&self, node: &NodeId) -> Result<Client, NmError> {
        let mut shared = lock(&self.shared);
        let token = shared
            .tokens
            .get(node)
            .cloned()
            .ok_or_else(|| NmError::NoToken(node.clone()))?;
        if let Some((used, client)) = shared.clients.get(node)
            && *used == token
        {
            return Ok(client.clone());
        }
        let mut config = ClientConfig::new(
            node.to_string(),
            PROTOCOL,
            Auth::Token(AuthToken::new(
                token.identifier.clone(),
                token.password.clone(),
            )),
        );
        if !shared.protection.is_empty() {
            config.protection = shared.protection.clone();
        }
        config.call_timeout = Duration::from_secs(30);
        let client = Client::new(config);
        shared.clients.insert(node.clone(), (token, client.clone()));
        Ok(client)
    }

    /// Starts an allocated container with a launch context.
    pub async fn start_container(
        &self,
        container: &ContainerProto,
        launch: ContainerLaunchContextProto,
    ) -> Result<(), NmError> {
        let node = container_node(container)?;
        let id = container
            .id
            .as_ref()
            .ok_or(NmError::Incomplete("container id"))?;
        let request = StartContainersRequestProto {
            start_container_request: vec![StartContainerRequestProto {
                container_launch_context: Some(launch),
                container_token: Some(
                    container
                        .container_token
                        .clone()
                        .ok_or(NmError::Incomplete("container token"))?,
                ),
            }],
        };
        let response: StartContainersResponseProto = self
            .client(&node)?
            .call("startContainers", &request)
            .await?;
        if let Some(failed) = response.failed_requests.first() {
            let exception = failed.exception.clone().unwrap_or_default();
            return Err(NmError::Refused {
                node,
                container: display_id(id),
                class: exception.class_name.unwrap_or_default(),
                message: exception.message.unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// Stops a container (it completes with exit status -105, killed by the AM).
    pub async fn stop_container(&self, id: &ContainerId, node: &NodeId) -> Result<(), NmError> {
        let request = StopContainersRequestProto {
            container_id: vec![(*id).into()],
        };
        let response: StopContainersResponseProto =
            self.client(node)?.call("stopContainers", &request).await?;
        if let Some(failed) = response.failed_requests.first() {
            let exception = failed.exception.clone().unwrap_or_default();
            return Err(NmError::Refused {
                node: node.clone(),
                container: id.to_string(),
                class: exception.class_name.unwrap_or_default(),
                message: exception.message.unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// A container's state as its NodeManager sees it.
    pub async fn container_status(
        &self,
        id: &ContainerId,
        node: &NodeId,
    ) -> Result<ContainerStatusProto, NmError> {
        let request = GetContainerStatusesRequestProto {
            container_id: vec![(*id).into()],
        };
        let response: GetContainerStatusesResponseProto = self
            .client(node)?
            .call("getContainerStatuses", &request)
            .await?;
        if let Some(status) = response.status.into_iter().next() {
            return Ok(status);
        }
        let exception = response
            .failed_requests
            .first()
            .and_then(|f| f.exception.clone())
            .unwrap_or_default();
        Err(NmError::Refused {
            node: node.clone(),
            container: id.to_string(),
            class: exception.class_name.unwrap_or_default(),
            message: exception.message.unwrap_or_default(),
        })
    }
}

fn container_node(container: &ContainerProto) -> Result<NodeId, NmError> {
    container
        .node_id
        .as_ref()
        .and_then(|n| NodeId::try_from(n).ok())
        .ok_or(NmError::Incomplete("node id"))
}

fn display_id(id: &crate::proto::hadoop::yarn::ContainerIdProto) -> String {
    ContainerId::try_from(id)
        .map(|c| c.to_string())
        .unwrap_or_else(|_| "<unknown>".into())
}
