//! The mini cluster's Hadoop RPC endpoints: the ResourceManager's ApplicationMasterProtocol and each
//! NodeManager's ContainerManagementProtocol, with YARN's authentication rules.
//!
//! Both accept only SASL TOKEN connections, as a real cluster in effect does: the scheduler port
//! wants the attempt's AMRMToken, a NodeManager port an NMToken for that node. The handlers decode
//! the request, apply the checks YARN's services make before anything reaches the state (whose
//! attempt, which node, a genuine container token for the same application), and hand the call to
//! the ResourceManager or NodeManager actor.

use std::sync::Arc;

use prost::Message;

use crate::credentials::{Credentials, Token, TokenFileFormat};
use crate::ipc::{
    AuthMethod, CallContext, Handler, HandlerFuture, InvalidToken, RemoteException, TokenVerifier,
    VerifiedToken, decode_request,
};
use crate::proto::hadoop::yarn as pb;
use crate::records::{ApplicationAttemptId, ContainerId, NodeId, Resource};

use super::localize::LocalResource;
use super::nm::{LaunchRequest, NmHandle};
use super::rm::{RmHandle, YarnError};
use super::tokens::Secrets;

/// The scheduler protocol's name.
pub const AM_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";
/// The NodeManager protocol's name.
pub const CM_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB";

const YARN_EXCEPTION: &str = "org.apache.hadoop.yarn.exceptions.YarnException";
const INVALID_TOKEN: &str = "org.apache.hadoop.security.token.SecretManager$InvalidToken";

fn remote(e: YarnError) -> RemoteException {
    RemoteException::new(e.class, e.message)
}

fn stopped() -> RemoteException {
    RemoteException::new(YARN_EXCEPTION, "the mini cluster is shutting down")
}

/// Checks AMRMTokens for the scheduler port.
pub struct AmrmVerifier(pub Arc<Secrets>);

impl TokenVerifier for AmrmVerifier {
    fn verify(&self, identifier: &[u8]) -> Result<VerifiedToken, InvalidToken> {
        let (attempt, password) = self.0.amrm_password(identifier).ok_or_else(|| {
            InvalidToken("the token is not an AMRMToken issued by this ResourceManager".into())
        })?;
        Ok(VerifiedToken {
            password,
            user: attempt.to_string(),
        })
    }
}

/// Checks NMTokens for a NodeManager port.
pub struct NmVerifier(pub Arc<Secrets>);

impl TokenVerifier for NmVerifier {
    fn verify(&self, identifier: &[u8]) -> Result<VerifiedToken, InvalidToken> {
        let (id, password) = self.0.nm_password(identifier).ok_or_else(|| {
            InvalidToken("the token is not an NMToken issued by this cluster".into())
        })?;
        let attempt = id
            .app_attempt_id
            .as_ref()
            .and_then(|a| ApplicationAttemptId::try_from(a).ok())
            .ok_or_else(|| InvalidToken("the NMToken names no application attempt".into()))?;
        Ok(VerifiedToken {
            password,
            user: attempt.to_string(),
        })
    }
}

/// The ApplicationMasterProtocol handler.
pub struct AmService {
    /// The ResourceManager.
    pub rm: RmHandle,
    /// Token secrets.
    pub secrets: Arc<Secrets>,
}

impl AmService {
    fn attempt(&self, ctx: &CallContext) -> Result<ApplicationAttemptId, RemoteException> {
        let id = (ctx.auth == AuthMethod::Token)
            .then_some(ctx.token_identifier.as_deref())
            .flatten()
            .and_then(|i| self.secrets.amrm_password(i))
            .map(|(a, _)| a);
        id.ok_or_else(|| {
            RemoteException::new(
                YARN_EXCEPTION,
                format!(
                    "No AMRMToken found for user {}; an ApplicationMaster authenticates with the \
                     AMRMToken from its container's token file",
                    ctx.user
                ),
            )
        })
    }
}

impl Handler for AmService {
    fn call<'a>(
        &'a self,
        ctx: &'a CallContext,
        method: &'a str,
        request: &'a [u8],
    ) -> HandlerFuture<'a> {
        Box::pin(async move {
            let attempt = self.attempt(ctx)?;
            match method {
                "registerApplicationMaster" => {
                    let req: pb::RegisterApplicationMasterRequestProto =
                        decode_request(method, request)?;
                    let r = self
                        .rm
                        .call(move |rm| rm.register(attempt, req))
                        .await
                        .ok_or_else(stopped)?;
                    Ok(r.map_err(remote)?.encode_to_vec())
                }
                "allocate" => {
                    let req: pb::AllocateRequestProto = decode_request(method, request)?;
                    let r = self
                        .rm
                        .call(move |rm| rm.allocate(attempt, req))
                        .await
                        .ok_or_else(stopped)?;
                    Ok(r.map_err(remote)?.encode_to_vec())
                }
                "finishApplicationMaster" => {
                    let req: pb::FinishApplicationMasterRequestProto =
                        decode_request(method, request)?;
                    let r = self
                        .rm
                        .call(move |rm| rm.finish(attempt, req))
                        .await
                        .ok_or_else(stopped)?;
                    Ok(r.map_err(remote)?.encode_to_vec())
                }
                other => Err(RemoteException::no_such_method(AM_PROTOCOL, other)),
            }
        })
    }
}

/// The ContainerManagementProtocol handler of one NodeManager.
pub struct CmService {
    /// The NodeManager.
    pub nm: NmHandle,
    /// Its RPC address.
    pub node: NodeId,
    /// Token secrets.
    pub secrets: Arc<Secrets>,
}

/// Who holds the NMToken a call came with.
struct NmCaller {
    attempt: ApplicationAttemptId,
}

fn serialized(class: &str, message: String) -> pb::SerializedExceptionProto {
    pb::SerializedExceptionProto {
        message: Some(message.clone()),
        trace: Some(format!("{class}: {message}")),
        class_name: Some(class.to_string()),
        cause: None,
    }
}

fn failure(c: Option<ContainerId>, class: &str, message: String) -> pb::ContainerExceptionMapProto {
    pb::ContainerExceptionMapProto {
        container_id: c.map(Into::into),
        exception: Some(serialized(class, message)),
    }
}

/// The URI of a local resource's URL record (`scheme://[user@]host[:port]file`).
pub fn resource_uri(u: &pb::UrlProto) -> String {
    let scheme = u.scheme.as_deref().unwrap_or("file");
    let user = u
        .user_info
        .as_deref()
        .map(|s| format!("{s}@"))
        .unwrap_or_default();
    let host = u.host.as_deref().unwrap_or("");
    let port = u
        .port
        .filter(|p| *p >= 0)
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let file = u.file.as_deref().unwrap_or("/");
    format!("{scheme}://{user}{host}{port}{file}")
}

/// The local resources of a launch context, keyed as the context names them.
pub fn local_resources(clc: &pb::ContainerLaunchContextProto) -> Vec<(String, LocalResource)> {
    clc.local_resources
        .iter()
        .filter_map(|e| {
            let v = e.value.as_ref()?;
            let kind = match v
                .r#type
                .and_then(|t| pb::LocalResourceTypeProto::try_from(t).ok())
            {
                Some(pb::LocalResourceTypeProto::Archive) => "ARCHIVE",
                Some(pb::LocalResourceTypeProto::Pattern) => "PATTERN",
                _ => "FILE",
            };
            Some((
                e.key.clone().unwrap_or_default(),
                LocalResource {
                    uri: v.resource.as_ref().map(resource_uri).unwrap_or_default(),
                    kind: kind.into(),
                    size: v.size.unwrap_or(-1),
                    timestamp: v.timestamp.unwrap_or(-1),
                },
            ))
        })
        .collect()
}

/// The environment of a launch context, in order.
pub fn environment(clc: &pb::ContainerLaunchContextProto) -> Vec<(String, String)> {
    clc.environment
        .iter()
        .map(|e| {
            (
                e.key.clone().unwrap_or_default(),
                e.value.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// A launch request from a launch context.
pub fn launch_request(
    container: ContainerId,
    user: String,
    resource: Resource,
    clc: &pb::ContainerLaunchContextProto,
) -> LaunchRequest {
    LaunchRequest {
        container,
        user,
        commands: clc.command.clone(),
        environment: environment(clc),
        extra_environment: Vec::new(),
        local_resources: local_resources(clc),
        tokens: clc
            .tokens
            .clone()
            .unwrap_or_else(|| Credentials::new().to_bytes(TokenFileFormat::Writable)),
        resource,
    }
}

impl CmService {
    fn caller(&self, ctx: &CallContext) -> Result<NmCaller, RemoteException> {
        let invalid = |m: String| RemoteException::new(YARN_EXCEPTION, m);
        if ctx.auth != AuthMethod::Token {
            return Err(invalid(format!(
                "Invalid NMToken: user {} did not authenticate with an NMToken for this node",
                ctx.user
            )));
        }
        let ident = ctx
            .token_identifier
            .as_deref()
            .and_then(|i| self.secrets.nm_password(i))
            .map(|(p, _)| p)
            .ok_or_else(|| invalid("Invalid NMToken".into()))?;
        let node = ident
            .node_id
            .as_ref()
            .and_then(|n| NodeId::try_from(n).ok());
        if node.as_ref() != Some(&self.node) {
            return Err(invalid(format!(
                "Given NMToken for application : {} is not valid for current node manager.expected : {} found : {}",
                ctx.user,
                self.node,
                node.map(|n| n.to_string()).unwrap_or_default()
            )));
        }
        let attempt = ident
            .app_attempt_id
            .as_ref()
            .and_then(|a| ApplicationAttemptId::try_from(a).ok())
            .ok_or_else(|| invalid("Invalid NMToken: no application attempt".into()))?;
        Ok(NmCaller { attempt })
    }

    async fn start(
        &self,
        caller: &NmCaller,
        req: pb::StartContainersRequestProto,
    ) -> pb::StartContainersResponseProto {
        let mut out = pb::StartContainersResponseProto::default();
        for r in req.start_container_request {
            let Some(token) = r.container_token.as_ref().map(Token::from) else {
                out.failed_requests.push(failure(
                    None,
                    INVALID_TOKEN,
                    "No container token in the start request".into(),
                ));
                continue;
            };
            let Some(ident) = self.secrets.verify_container_token(&token) else {
                out.failed_requests.push(failure(
                    None,
                    INVALID_TOKEN,
                    "Invalid container token used for starting container: its password does not match".into(),
                ));
                continue;
            };
            let Some(cid) = ident
                .container_id
                .as_ref()
                .and_then(|c| ContainerId::try_from(c).ok())
            else {
                out.failed_requests.push(failure(
                    None,
                    INVALID_TOKEN,
                    "The container token names no container".into(),
                ));
                continue;
            };
            let app = cid.application_attempt_id.application_id;
            if app != caller.attempt.application_id {
                out.failed_requests.push(failure(
                    Some(cid),
                    YARN_EXCEPTION,
                    format!(
                        "Unauthorized request to start container.\nNMToken for application attempt : {} \
                         was used for starting container with container token issued for application attempt : {}",
                        caller.attempt, cid.application_attempt_id
                    ),
                ));
                continue;
            }
            if ident.nm_host_addr.as_deref() != Some(self.node.to_string().as_str()) {
                out.failed_requests.push(failure(
                    Some(cid),
                    YARN_EXCEPTION,
                    format!(
                        "Unauthorized request to start container.\nThis token is expired or for node {}, not {}",
                        ident.nm_host_addr.unwrap_or_default(),
                        self.node
                    ),
                ));
                continue;
            }
            if ident.expiry_time_stamp.unwrap_or(0) < super::journal::now_ms() {
                out.failed_requests.push(failure(
                    Some(cid),
                    YARN_EXCEPTION,
                    format!("Unauthorized request to start container.\nThis token is expired. current time is {}", super::journal::now_ms()),
                ));
                continue;
            }
            let resource = ident
                .resource
                .as_ref()
                .map(Resource::from)
                .unwrap_or_default();
            let user = ident.app_submitter.clone().unwrap_or_default();
            let clc = r.container_launch_context.unwrap_or_default();
            let launch = launch_request(cid, user, resource, &clc);
            match self.nm.call(move |nm| nm.start(launch)).await {
                Some(Ok(())) => out.succeeded_requests.push(cid.into()),
                Some(Err(e)) => out
                    .failed_requests
                    .push(failure(Some(cid), YARN_EXCEPTION, e)),
                None => out.failed_requests.push(failure(
                    Some(cid),
                    YARN_EXCEPTION,
                    "the NodeManager is shutting down".into(),
                )),
            }
        }
        out
    }

    async fn owned(
        &self,
        caller: &NmCaller,
        ids: &[pb::ContainerIdProto],
    ) -> (Vec<ContainerId>, Vec<pb::ContainerExceptionMapProto>) {
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for p in ids {
            let Ok(cid) = ContainerId::try_from(p) else {
                failed.push(failure(
                    None,
                    YARN_EXCEPTION,
                    "malformed container id".into(),
                ));
                continue;
            };
            if cid.application_attempt_id.application_id != caller.attempt.application_id {
                failed.push(failure(
                    Some(cid),
                    YARN_EXCEPTION,
                    format!(
                        "Unauthorized request: {} may not operate on container {cid} of another application",
                        caller.attempt
                    ),
                ));
                continue;
            }
            let known = self
                .nm
                .call(move |nm| nm.container_app(cid).is_some())
                .await
                .unwrap_or(false);
            if !known {
                failed.push(failure(
                    Some(cid),
                    YARN_EXCEPTION,
                    format!("Container {cid} is not handled by this NodeManager"),
                ));
                continue;
            }
            ok.push(cid);
        }
        (ok, failed)
    }
}

impl Handler for CmService {
    fn call<'a>(
        &'a self,
        ctx: &'a CallContext,
        method: &'a str,
        request: &'a [u8],
    ) -> HandlerFuture<'a> {
        Box::pin(async move {
            let caller = self.caller(ctx)?;
            match method {
                "startContainers" => {
                    let req: pb::StartContainersRequestProto = decode_request(method, request)?;
                    Ok(self.start(&caller, req).await.encode_to_vec())
                }
                "stopContainers" => {
                    let req: pb::StopContainersRequestProto = decode_request(method, request)?;
                    let (ok, failed) = self.owned(&caller, &req.container_id).await;
                    let mut out = pb::StopContainersResponseProto {
                        failed_requests: failed,
                        ..Default::default()
                    };
                    for cid in ok {
                        self.nm
                            .call(move |nm| {
                                nm.stop(
                                    cid,
                                    crate::records::exit_status::KILLED_BY_APPMASTER,
                                    "Container killed by the ApplicationMaster.",
                                    true,
                                )
                            })
                            .await;
                        out.succeeded_requests.push(cid.into());
                    }
                    Ok(out.encode_to_vec())
                }
                "getContainerStatuses" => {
                    let req: pb::GetContainerStatusesRequestProto =
                        decode_request(method, request)?;
                    let (ok, failed) = self.owned(&caller, &req.container_id).await;
                    let mut out = pb::GetContainerStatusesResponseProto {
                        failed_requests: failed,
                        ..Default::default()
                    };
                    for cid in ok {
                        if let Some(Some(s)) = self.nm.call(move |nm| nm.status(cid)).await {
                            out.status.push(s);
                        }
                    }
                    Ok(out.encode_to_vec())
                }
                other => Err(RemoteException::no_such_method(CM_PROTOCOL, other)),
            }
        })
    }
}
