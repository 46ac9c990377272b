//! The ResourceManager's second front door: ApplicationClientProtocol over Hadoop RPC, as an
//! insecure cluster serves it on `yarn.resourcemanager.address`.
//!
//! Java clients (Hadoop's `YarnClient`, and through it Flink's and Spark's YARN clients) submit,
//! watch and kill applications over this protocol rather than REST. Connections authenticate with
//! SIMPLE: the user named in the connection context is the submitting user, as on a cluster without
//! Kerberos. Every call goes to the same ResourceManager actor the REST API uses, so an application
//! submitted through one door is reported, listed and killed through the other, with one journal.

use std::sync::Arc;

use prost::Message;

use crate::credentials::Credentials;
use crate::ipc::{CallContext, Handler, HandlerFuture, RemoteException, decode_request};
use crate::proto::hadoop::yarn as pb;
use crate::records::{ApplicationAttemptId, ApplicationId, Resource};

use super::rm::{AmSpec, RmHandle, Submission, YarnError};
use super::rpc::{environment, local_resources};
use super::scheduler::Res;

/// The client protocol's name.
pub const CLIENT_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";

const YARN_EXCEPTION: &str = "org.apache.hadoop.yarn.exceptions.YarnException";

fn remote(e: YarnError) -> RemoteException {
    RemoteException::new(e.class, e.message)
}

fn stopped() -> RemoteException {
    RemoteException::new(YARN_EXCEPTION, "the mini cluster is shutting down")
}

fn invalid(message: impl Into<String>) -> RemoteException {
    RemoteException::new(YARN_EXCEPTION, message)
}

fn app_id(p: Option<&pb::ApplicationIdProto>) -> Result<ApplicationId, RemoteException> {
    p.and_then(|p| ApplicationId::try_from(p).ok())
        .ok_or_else(|| invalid("the request names no valid application id"))
}

/// A submission context as the ResourceManager's state takes it.
pub fn submission(
    ctx: pb::ApplicationSubmissionContextProto,
    user: &str,
) -> Result<Submission, RemoteException> {
    let id = app_id(ctx.application_id.as_ref())?;
    let clc = ctx.am_container_spec.clone().unwrap_or_default();
    // Hadoop reads the token buffer as a stream and ignores what follows the credentials (a client
    // may send a padded buffer), so a failed parse is retried on shorter prefixes only when the
    // buffer carries the credentials' magic.
    let credentials = match clc.tokens.as_deref() {
        None | Some([]) => Credentials::new(),
        Some(bytes) => Credentials::from_bytes(bytes)
            .or_else(|first| {
                (7..bytes.len())
                    .rev()
                    .find_map(|n| Credentials::from_bytes(&bytes[..n]).ok())
                    .ok_or(first)
            })
            .map_err(|e| invalid(format!("Unable to parse credentials for {id}: {e}")))?,
    };
    let resource = ctx
        .resource
        .as_ref()
        .or_else(|| {
            ctx.am_container_resource_request
                .first()
                .and_then(|r| r.capability.as_ref())
        })
        .map(Resource::from)
        .ok_or_else(|| {
            invalid(format!(
                "{id}: the submission names no AM container resource"
            ))
        })?;
    Ok(Submission {
        id,
        name: ctx.application_name.clone().unwrap_or_else(|| "N/A".into()),
        queue: ctx
            .queue
            .clone()
            .filter(|q| !q.is_empty())
            .unwrap_or_else(|| "default".into()),
        user: user.to_string(),
        app_type: ctx
            .application_type
            .clone()
            .unwrap_or_else(|| "YARN".into()),
        tags: ctx.application_tags.clone(),
        priority: ctx.priority.as_ref().and_then(|p| p.priority).unwrap_or(0),
        max_attempts: ctx.max_app_attempts.unwrap_or(0),
        keep_containers: ctx
            .keep_containers_across_application_attempts
            .unwrap_or(false),
        am: AmSpec {
            commands: clc.command.clone(),
            environment: environment(&clc),
            local_resources: local_resources(&clc),
            credentials,
            resource: Res::new(resource.memory_mb, resource.vcores),
        },
    })
}

/// The ApplicationClientProtocol handler.
pub struct ClientService {
    /// The ResourceManager.
    pub rm: RmHandle,
}

impl ClientService {
    /// A handler for `rm`.
    pub fn new(rm: RmHandle) -> Arc<ClientService> {
        Arc::new(ClientService { rm })
    }

    async fn ask<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut super::rm::Rm) -> R + Send + 'static,
    ) -> Result<R, RemoteException> {
        self.rm.call(f).await.ok_or_else(stopped)
    }
}

impl Handler for ClientService {
    fn call<'a>(
        &'a self,
        ctx: &'a CallContext,
        method: &'a str,
        request: &'a [u8],
    ) -> HandlerFuture<'a> {
        Box::pin(async move {
            match method {
                "getNewApplication" => {
                    let _: pb::GetNewApplicationRequestProto = decode_request(method, request)?;
                    let (id, max) = self.ask(|rm| rm.new_application()).await?;
                    Ok(pb::GetNewApplicationResponseProto {
                        application_id: Some(id.into()),
                        maximum_capability: Some(Resource::new(max.memory_mb, max.vcores).into()),
                    }
                    .encode_to_vec())
                }
                "submitApplication" => {
                    let req: pb::SubmitApplicationRequestProto = decode_request(method, request)?;
                    let sub = submission(
                        req.application_submission_context.unwrap_or_default(),
                        &ctx.user,
                    )?;
                    self.ask(move |rm| rm.client_submit(sub))
                        .await?
                        .map_err(remote)?;
                    Ok(pb::SubmitApplicationResponseProto {}.encode_to_vec())
                }
                "getApplicationReport" => {
                    let req: pb::GetApplicationReportRequestProto =
                        decode_request(method, request)?;
                    let id = app_id(req.application_id.as_ref())?;
                    let report = self
                        .ask(move |rm| rm.client_app_report(id))
                        .await?
                        .map_err(remote)?;
                    Ok(pb::GetApplicationReportResponseProto {
                        application_report: Some(report),
                    }
                    .encode_to_vec())
                }
                "getApplications" => {
                    let req: pb::GetApplicationsRequestProto = decode_request(method, request)?;
                    let applications = self.ask(move |rm| rm.client_apps(&req)).await?;
                    Ok(pb::GetApplicationsResponseProto { applications }.encode_to_vec())
                }
                "getApplicationAttemptReport" => {
                    let req: pb::GetApplicationAttemptReportRequestProto =
                        decode_request(method, request)?;
                    let id = req
                        .application_attempt_id
                        .as_ref()
                        .and_then(|p| ApplicationAttemptId::try_from(p).ok())
                        .ok_or_else(|| invalid("the request names no valid attempt id"))?;
                    let report = self
                        .ask(move |rm| rm.client_attempt_report(id))
                        .await?
                        .map_err(remote)?;
                    Ok(pb::GetApplicationAttemptReportResponseProto {
                        application_attempt_report: Some(report),
                    }
                    .encode_to_vec())
                }
                "forceKillApplication" => {
                    let req: pb::KillApplicationRequestProto = decode_request(method, request)?;
                    let id = app_id(req.application_id.as_ref())?;
                    let diagnostics = req.diagnostics;
                    let answer = self
                        .ask(move |rm| rm.client_kill(id, diagnostics))
                        .await?
                        .map_err(remote)?;
                    Ok(answer.encode_to_vec())
                }
                "getClusterNodes" => {
                    let req: pb::GetClusterNodesRequestProto = decode_request(method, request)?;
                    let node_reports = self
                        .ask(move |rm| rm.client_nodes(&req.node_states))
                        .await?;
                    Ok(pb::GetClusterNodesResponseProto { node_reports }.encode_to_vec())
                }
                "getClusterMetrics" => {
                    let _: pb::GetClusterMetricsRequestProto = decode_request(method, request)?;
                    let m = self.ask(|rm| rm.client_metrics()).await?;
                    Ok(pb::GetClusterMetricsResponseProto {
                        cluster_metrics: Some(m),
                    }
                    .encode_to_vec())
                }
                "getQueueInfo" => {
                    let req: pb::GetQueueInfoRequestProto = decode_request(method, request)?;
                    let q = self
                        .ask(move |rm| rm.client_queue(&req))
                        .await?
                        .map_err(remote)?;
                    Ok(pb::GetQueueInfoResponseProto {
                        queue_info: Some(q),
                    }
                    .encode_to_vec())
                }
                other => Err(RemoteException::no_such_method(CLIENT_PROTOCOL, other)),
            }
        })
    }
}
