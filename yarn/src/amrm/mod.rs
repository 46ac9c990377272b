//! The ApplicationMaster's side of `ApplicationMasterProtocol`: register, the allocate loop, finish.
//!
//! [`AmRmClient`] keeps what YARN requires an AM to keep: the ask table with YARN's rules
//! ([`asks`]), releases and blacklist changes sent once, the last `responseId` echoed, the AMRMToken
//! followed through roll-overs, and NMTokens handed out per node. Containers that match no
//! outstanding ask are surplus: they are released on the next allocate and reported as such, so
//! an AM built on this client never keeps a container it did not ask for.
//!
//! The client is owned by one task (the AM's allocate loop); it does no I/O of its own beyond the
//! RPC calls it is asked to make.

pub mod asks;

use std::collections::BTreeSet;
use std::time::Duration;

use crate::conf::{ConfError, Configuration, RpcProtection};
use crate::credentials::{NmTokens, Token};
use crate::ipc::{Auth, AuthToken, Client, ClientConfig, RemoteErrorKind, RpcError};
use crate::proto::hadoop::yarn::{
    AllocateRequestProto, AllocateResponseProto, ContainerProto, ContainerStatusProto,
    FinalApplicationStatusProto, FinishApplicationMasterRequestProto,
    FinishApplicationMasterResponseProto, NmTokenProto, PreemptionMessageProto,
    RegisterApplicationMasterRequestProto, RegisterApplicationMasterResponseProto,
    ResourceBlacklistRequestProto,
};
use crate::records::{ContainerId, NodeId, Resource};
use crate::sasl::Qop;

pub use asks::{ANY, AskError, AskTable, ContainerRequest, SchedulerKey};

/// The RM scheduler protocol's name on the wire.
pub const PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";

/// How many times a call lost with its connection is made before the error is returned.
pub const CALL_ATTEMPTS: u32 = 3;
const RETRY_DELAY: Duration = Duration::from_millis(200);

/// What went wrong talking to the RM.
#[derive(Debug, thiserror::Error)]
pub enum AmRmError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error(transparent)]
    Ask(#[from] AskError),
    #[error("the ResourceManager asked this ApplicationMaster to shut down")]
    ShutdownRequested,
    #[error("the ResourceManager's response is malformed: {0}")]
    Malformed(String),
}

/// The register response, in the parts an AM uses.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The largest container the scheduler grants; larger asks fail.
    pub maximum_capability: Resource,
    pub queue: Option<String>,
    /// Live containers of earlier attempts (keep-containers-across-application-attempts).
    pub containers_from_previous_attempts: Vec<ContainerProto>,
}

/// One allocate round trip, sorted out.
#[derive(Debug, Default)]
pub struct Allocation {
    /// Containers that matched an outstanding ask (which has been decremented).
    pub allocated: Vec<ContainerProto>,
    /// Containers that matched nothing: already queued for release on the next allocate.
    pub surplus: Vec<ContainerProto>,
    pub completed: Vec<ContainerStatusProto>,
    /// NMTokens for nodes this AM had no token for (or rolled ones); also kept in the client.
    pub nm_tokens: Vec<(NodeId, Token)>,
    /// What the application may still get.
    pub headroom: Option<Resource>,
    pub num_cluster_nodes: i32,
    pub preemption: Option<PreemptionMessageProto>,
}

/// The SASL protection levels a client accepts, from `hadoop.rpc.protection`.
pub fn protection_levels(conf: &Configuration) -> Result<Vec<Qop>, ConfError> {
    Ok(conf
        .rpc_protection()?
        .into_iter()
        .map(|level| match level {
            RpcProtection::Authentication => Qop::Auth,
            RpcProtection::Integrity => Qop::AuthInt,
            RpcProtection::Privacy => Qop::AuthConf,
        })
        .collect())
}

/// The ApplicationMaster's client of the RM scheduler.
#[derive(Debug)]
pub struct AmRmClient {
    rpc: Client,
    asks: AskTable,
    release: BTreeSet<ContainerId>,
    blacklist_additions: BTreeSet<String>,
    blacklist_removals: BTreeSet<String>,
    response_id: i32,
    registration: Option<RegisterApplicationMasterRequestProto>,
    nm_tokens: NmTokens,
}

impl AmRmClient {
    /// A client of the scheduler at `address` (`yarn.resourcemanager.scheduler.address`),
    /// authenticating with the AMRMToken at the given protection levels (empty: accept any).
    pub fn new(address: impl Into<String>, amrm_token: Token, protection: Vec<Qop>) -> Self {
        let mut config = ClientConfig::new(
            address,
            PROTOCOL,
            Auth::Token(AuthToken::new(
                amrm_token.identifier.clone(),
                amrm_token.password.clone(),
            )),
        );
        if !protection.is_empty() {
            config.protection = protection;
        }
        config.call_timeout = Duration::from_secs(30);
        AmRmClient {
            rpc: Client::new(config),
            asks: AskTable::new(),
            release: BTreeSet::new(),
            blacklist_additions: BTreeSet::new(),
            blacklist_removals: BTreeSet::new(),
            response_id: 0,
            registration: None,
            nm_tokens: NmTokens::new(),
        }
    }

    /// Registers the attempt. `rpc_port` -1 and an empty tracking URL when the AM serves neither.
    pub async fn register(
        &mut self,
        host: &str,
        rpc_port: i32,
        tracking_url: &str,
    ) -> Result<Registration, AmRmError> {
        let request = RegisterApplicationMasterRequestProto {
            host: Some(host.to_string()),
            rpc_port: Some(rpc_port),
            tracking_url: Some(tracking_url.to_string()),
            ..Default::default()
        };
        let response: RegisterApplicationMasterResponseProto =
            self.rpc.call("registerApplicationMaster", &request).await?;
        self.registration = Some(request);
        self.response_id = 0;
        for nm in &response.nm_tokens_from_previous_attempts {
            self.keep_nm_token(nm);
        }
        Ok(Registration {
            maximum_capability: response
                .maximum_capability
                .as_ref()
                .map(Resource::from)
                .unwrap_or_default(),
            queue: response.queue,
            containers_from_previous_attempts: response.containers_from_previous_attempts,
        })
    }

    /// Adds one container to the asks (sent on the next allocate).
    pub fn add_request(&mut self, request: &ContainerRequest) -> Result<(), AskError> {
        self.asks.add(request)
    }

    /// Withdraws one not-yet-granted container from the asks (sent on the next allocate).
    pub fn remove_request(&mut self, request: &ContainerRequest) -> Result<(), AskError> {
        self.asks.remove(request)
    }

    /// Gives a container back (sent once, on the next allocate).
    pub fn release(&mut self, container: ContainerId) {
        self.release.insert(container);
    }

    /// Changes the blacklist (sent once, on the next allocate).
    pub fn update_blacklist(&mut self, additions: &[String], removals: &[String]) {
        for node in additions {
            self.blacklist_removals.remove(node);
            self.blacklist_additions.insert(node.clone());
        }
        for node in removals {
            self.blacklist_additions.remove(node);
            self.blacklist_removals.insert(node.clone());
        }
    }

    /// Containers queued for release on the next allocate (surplus, or released by the caller).
    pub fn pending_releases(&self) -> usize {
        self.release.len()
    }

    /// The ask table, for inspection.
    pub fn asks(&self) -> &AskTable {
        &self.asks
    }

    /// `fast` while containers are asked for and not yet granted or releases wait to be sent,
    /// `normal` otherwise: the RM allocates on NodeManager heartbeats, and only a pending ask or
    /// release is worth hurrying for.
    pub fn heartbeat_interval(&self, fast: Duration, normal: Duration) -> Duration {
        // Releases waiting to be sent (surplus containers) also go out at the fast pace: a
        // container the application does not use should not stay allocated for a slow heartbeat.
        if self.asks.total_outstanding() > 0 || !self.release.is_empty() {
            fast
        } else {
            normal
        }
    }

    /// The NMToken for a node, if the RM has handed one out.
    pub fn nm_token(&self, node: &NodeId) -> Option<&Token> {
        self.nm_tokens.get(node)
    }

    /// One allocate call: sends changed asks, releases and blacklist changes once, and sorts the
    /// response out. After the RM lost this attempt's registration (RM restart), re-registers and
    /// re-sends the whole ask table, as YARN expects.
    ///
    /// A call lost with its connection is sent again (up to [`CALL_ATTEMPTS`] times) with the same
    /// `responseId`: if the RM had served it, it answers the repeat with the same response, as
    /// YARN does for a lost allocate, so nothing is allocated twice or lost.
    pub async fn allocate(&mut self, progress: f32) -> Result<Allocation, AmRmError> {
        let mut attempt = 1;
        loop {
            match self.allocate_registered(progress).await {
                Err(AmRmError::Rpc(e)) if e.is_retriable() && attempt < CALL_ATTEMPTS => {
                    tracing::warn!("allocate failed ({e}); sending it again");
                    attempt += 1;
                    tokio::time::sleep(RETRY_DELAY).await;
                }
                other => return other,
            }
        }
    }

    async fn allocate_registered(&mut self, progress: f32) -> Result<Allocation, AmRmError> {
        match self.allocate_once(progress, false).await {
            Err(AmRmError::Rpc(e))
                if e.remote_kind() == Some(RemoteErrorKind::ApplicationMasterNotRegistered) =>
            {
                tracing::warn!(
                    "the ResourceManager lost this attempt's registration; registering again"
                );
                let request = self.registration.clone().unwrap_or_default();
                let _: RegisterApplicationMasterResponseProto =
                    self.rpc.call("registerApplicationMaster", &request).await?;
                self.response_id = 0;
                self.allocate_once(progress, true).await
            }
            other => other,
        }
    }

    async fn allocate_once(
        &mut self,
        progress: f32,
        resync: bool,
    ) -> Result<Allocation, AmRmError> {
        let asks = if resync {
            self.asks.full_table()
        } else {
            self.asks.take_changes()
        };
        let release: Vec<ContainerId> = std::mem::take(&mut self.release).into_iter().collect();
        let additions: Vec<String> = std::mem::take(&mut self.blacklist_additions)
            .into_iter()
            .collect();
        let removals: Vec<String> = std::mem::take(&mut self.blacklist_removals)
            .into_iter()
            .collect();
        let request = AllocateRequestProto {
            ask: asks.clone(),
            release: release.iter().cloned().map(Into::into).collect(),
            blacklist_request: (!additions.is_empty() || !removals.is_empty()).then(|| {
                ResourceBlacklistRequestProto {
                    blacklist_additions: additions.clone(),
                    blacklist_removals: removals.clone(),
                }
            }),
            response_id: Some(self.response_id),
            progress: Some(progress.clamp(0.0, 1.0)),
            ..Default::default()
        };
        let response: AllocateResponseProto = match self.rpc.call("allocate", &request).await {
            Ok(response) => response,
            Err(e) => {
                // Nothing was applied: everything goes out again on the next call.
                self.asks.unsend(&asks);
                self.release.extend(release);
                self.blacklist_additions.extend(additions);
                self.blacklist_removals.extend(removals);
                return Err(e.into());
            }
        };
        if response.a_m_command
            == Some(crate::proto::hadoop::yarn::AmCommandProto::AmShutdown as i32)
        {
            return Err(AmRmError::ShutdownRequested);
        }
        self.response_id = response.response_id.unwrap_or(self.response_id);
        if let Some(token) = &response.am_rm_token {
            let token = Token::from(token.clone());
            tracing::info!("the ResourceManager rolled the AMRMToken; using the new one");
            self.rpc
                .set_token(AuthToken::new(token.identifier, token.password));
        }
        let mut allocation = Allocation {
            completed: response.completed_container_statuses,
            headroom: response.limit.as_ref().map(Resource::from),
            num_cluster_nodes: response.num_cluster_nodes.unwrap_or(0),
            preemption: response.preempt,
            ..Default::default()
        };
        for nm in &response.nm_tokens {
            if let Some(kept) = self.keep_nm_token(nm) {
                allocation.nm_tokens.push(kept);
            }
        }
        for container in response.allocated_containers {
            let priority = container.priority.and_then(|p| p.priority).unwrap_or(0);
            let key = self
                .asks
                .key_for(priority, container.allocation_request_id.unwrap_or(-1));
            let host = container
                .node_id
                .as_ref()
                .and_then(|n| n.host.clone())
                .unwrap_or_default();
            if self.asks.allocated(key, &host) {
                allocation.allocated.push(container);
            } else {
                match container.id.as_ref().map(ContainerId::try_from) {
                    Some(Ok(id)) => {
                        tracing::info!(container = %id, priority, "releasing a surplus container");
                        self.release.insert(id);
                    }
                    _ => {
                        return Err(AmRmError::Malformed(
                            "an allocated container has no valid id".into(),
                        ));
                    }
                }
                allocation.surplus.push(container);
            }
        }
        Ok(allocation)
    }

    fn keep_nm_token(&mut self, nm: &NmTokenProto) -> Option<(NodeId, Token)> {
        let node = NodeId::try_from(nm.node_id.as_ref()?).ok()?;
        let token = Token::from(nm.token.clone()?);
        self.nm_tokens.insert(node.clone(), token.clone());
        Some((node, token))
    }

    /// Unregisters with a final status, retrying until the RM confirms (as Hadoop's client does).
    pub async fn finish(
        &mut self,
        status: FinalApplicationStatusProto,
        diagnostics: &str,
        tracking_url: &str,
    ) -> Result<(), AmRmError> {
        let request = FinishApplicationMasterRequestProto {
            diagnostics: Some(diagnostics.to_string()),
            tracking_url: Some(tracking_url.to_string()),
            final_application_status: Some(status as i32),
        };
        for attempt in 0.. {
            let response: FinishApplicationMasterResponseProto =
                self.rpc.call("finishApplicationMaster", &request).await?;
            if response.is_unregistered.unwrap_or(false) {
                return Ok(());
            }
            if attempt >= 600 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(AmRmError::Malformed(
            "the ResourceManager never confirmed the unregistration".into(),
        ))
    }
}
