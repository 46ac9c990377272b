//! What a NodeManager needs to start a process: the files to localize ([`LocalResource`], located by a
//! [`ResourceUrl`]), environment, commands and credentials — the [`LaunchContext`], convertible to
//! and from `ContainerLaunchContextProto`.

use std::collections::BTreeMap;
use std::fmt;

use crate::credentials::{Credentials, CredentialsError, TokenFileFormat};
use crate::proto::hadoop::yarn as pb;
use crate::records::RecordError;

/// Where a local resource lives, split the way YARN's `URL` record splits a URI
/// (`hdfs://nn:8020/user/a/app.jar` → scheme `hdfs`, host `nn`, port 8020, file `/user/a/app.jar`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceUrl {
    /// `hdfs`, `file`, `s3a`, ...
    pub scheme: String,
    /// The host, when the URI has one.
    pub host: Option<String>,
    /// The port, or -1 when the URI has none (as Java's `URI.getPort`).
    pub port: i32,
    /// The decoded path.
    pub file: String,
    /// `user:password@` part, when present.
    pub user_info: Option<String>,
}

/// A URI that [`ResourceUrl::parse`] cannot split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid resource URI {input:?}: {reason}; expected scheme://[user@]host[:port]/path or scheme:/path"
)]
pub struct UrlError {
    input: String,
    reason: String,
}

impl ResourceUrl {
    /// Splits an absolute URI (query and fragment are dropped; the path is percent-decoded).
    pub fn parse(uri: &str) -> Result<ResourceUrl, UrlError> {
        let err = |reason: &str| UrlError {
            input: uri.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = uri
            .split_once(':')
            .ok_or_else(|| err("there is no scheme"))?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok {
            return Err(err("the scheme is not valid"));
        }
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => match after.find('/') {
                Some(i) => (Some(&after[..i]), &after[i..]),
                None => (Some(after), ""),
            },
            None => (None, rest),
        };
        let mut url = ResourceUrl {
            scheme: scheme.to_owned(),
            host: None,
            port: -1,
            file: percent_decode(path).ok_or_else(|| err("the path has a bad %-escape"))?,
            user_info: None,
        };
        if let Some(authority) = authority.filter(|a| !a.is_empty()) {
            let host_port = match authority.rsplit_once('@') {
                Some((user, hp)) => {
                    url.user_info = Some(user.to_owned());
                    hp
                }
                None => authority,
            };
            let (host, port) = if host_port.starts_with('[') {
                // An IPv6 literal: [addr] or [addr]:port.
                let end = host_port
                    .find(']')
                    .ok_or_else(|| err("the IPv6 host has no ']'"))?;
                match &host_port[end + 1..] {
                    "" => (&host_port[..=end], None),
                    tail => (
                        &host_port[..=end],
                        Some(
                            tail.strip_prefix(':')
                                .ok_or_else(|| err("text follows the IPv6 host"))?,
                        ),
                    ),
                }
            } else {
                match host_port.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (host_port, None),
                }
            };
            if host.is_empty() {
                return Err(err("the host is empty"));
            }
            url.host = Some(host.to_owned());
            if let Some(p) = port.filter(|p| !p.is_empty()) {
                url.port = p
                    .parse::<u16>()
                    .map_err(|_| err("the port is not a number 0-65535"))?
                    .into();
            }
        }
        Ok(url)
    }

    /// The URI again (`scheme://[user@]host[:port]path`, or `scheme:path` without a host).
    pub fn to_uri(&self) -> String {
        let mut s = format!("{}:", self.scheme);
        if let Some(host) = &self.host {
            s.push_str("//");
            if let Some(u) = &self.user_info {
                s.push_str(u);
                s.push('@');
            }
            s.push_str(host);
            if self.port >= 0 {
                s.push_str(&format!(":{}", self.port));
            }
        } else if self.file.starts_with("//") {
            s.push_str("//");
        }
        s.push_str(&self.file);
        s
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for ResourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri())
    }
}

impl From<&ResourceUrl> for pb::UrlProto {
    fn from(u: &ResourceUrl) -> Self {
        pb::UrlProto {
            scheme: Some(u.scheme.clone()),
            host: u.host.clone(),
            port: Some(u.port),
            file: Some(u.file.clone()),
            user_info: u.user_info.clone(),
        }
    }
}

impl From<&pb::UrlProto> for ResourceUrl {
    fn from(p: &pb::UrlProto) -> Self {
        ResourceUrl {
            scheme: p.scheme().to_owned(),
            host: p.host.clone(),
            port: p.port.unwrap_or(-1),
            file: p.file().to_owned(),
            user_info: p.user_info.clone(),
        }
    }
}

/// How the NodeManager treats a downloaded resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LocalResourceType {
    /// Unpacked (`.jar`, `.zip`, `.tar.gz`, `.tgz`, `.tar`).
    Archive,
    /// Kept as is.
    #[default]
    File,
    /// A jar unpacked partly, by `pattern`.
    Pattern,
}

/// Who may share a downloaded resource on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LocalResourceVisibility {
    /// Every user (the file and its ancestors must be world-readable).
    Public,
    /// The submitting user's applications.
    Private,
    /// This application only.
    #[default]
    Application,
}

/// A file the NodeManager downloads and links into the container's working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalResource {
    /// Where it is.
    pub url: ResourceUrl,
    /// Its size in bytes.
    pub size: i64,
    /// Its modification time (ms); must match the source exactly or localization fails.
    pub timestamp: i64,
    /// File or archive.
    pub kind: LocalResourceType,
    /// Sharing.
    pub visibility: LocalResourceVisibility,
    /// For [`LocalResourceType::Pattern`]: what to unpack.
    pub pattern: Option<String>,
}

impl From<&LocalResource> for pb::LocalResourceProto {
    fn from(r: &LocalResource) -> Self {
        pb::LocalResourceProto {
            resource: Some((&r.url).into()),
            size: Some(r.size),
            timestamp: Some(r.timestamp),
            r#type: Some(match r.kind {
                LocalResourceType::Archive => pb::LocalResourceTypeProto::Archive,
                LocalResourceType::File => pb::LocalResourceTypeProto::File,
                LocalResourceType::Pattern => pb::LocalResourceTypeProto::Pattern,
            } as i32),
            visibility: Some(match r.visibility {
                LocalResourceVisibility::Public => pb::LocalResourceVisibilityProto::Public,
                LocalResourceVisibility::Private => pb::LocalResourceVisibilityProto::Private,
                LocalResourceVisibility::Application => {
                    pb::LocalResourceVisibilityProto::Application
                }
            } as i32),
            pattern: r.pattern.clone(),
            should_be_uploaded_to_shared_cache: None,
        }
    }
}

impl TryFrom<&pb::LocalResourceProto> for LocalResource {
    type Error = RecordError;
    fn try_from(p: &pb::LocalResourceProto) -> Result<Self, RecordError> {
        let url = p
            .resource
            .as_ref()
            .ok_or(RecordError::missing("LocalResourceProto", "resource"))?;
        let bad = |field, value| RecordError::UnknownEnumValue {
            record: "LocalResourceProto",
            field,
            value,
        };
        let kind = match p.r#type {
            None => LocalResourceType::default(),
            Some(v) => match pb::LocalResourceTypeProto::try_from(v).map_err(|_| bad("type", v))? {
                pb::LocalResourceTypeProto::Archive => LocalResourceType::Archive,
                pb::LocalResourceTypeProto::File => LocalResourceType::File,
                pb::LocalResourceTypeProto::Pattern => LocalResourceType::Pattern,
            },
        };
        let visibility = match p.visibility {
            None => LocalResourceVisibility::default(),
            Some(v) => match pb::LocalResourceVisibilityProto::try_from(v)
                .map_err(|_| bad("visibility", v))?
            {
                pb::LocalResourceVisibilityProto::Public => LocalResourceVisibility::Public,
                pb::LocalResourceVisibilityProto::Private => LocalResourceVisibility::Private,
                pb::LocalResourceVisibilityProto::Application => {
                    LocalResourceVisibility::Application
                }
            },
        };
        Ok(LocalResource {
            url: url.into(),
            size: p.size(),
            timestamp: p.timestamp(),
            kind,
            visibility,
            pattern: p.pattern.clone(),
        })
    }
}

/// Everything a NodeManager needs to start a container's process.
///
/// Maps are ordered so that the encoded bytes are deterministic. `Debug` does not show the
/// credentials bytes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LaunchContext {
    /// Files to localize, by the link name they get in the working directory.
    pub local_resources: BTreeMap<String, LocalResource>,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// The command, as words the NodeManager joins with spaces into one `bash -c` line.
    pub commands: Vec<String>,
    /// A credentials file (`HDTS`) for the container, if any.
    pub tokens: Option<Vec<u8>>,
    /// Data for NodeManager auxiliary services, by service name.
    pub service_data: BTreeMap<String, Vec<u8>>,
    /// Who may view the application (`APPACCESS_VIEW_APP`), when set.
    pub view_acl: Option<String>,
    /// Who may modify the application (`APPACCESS_MODIFY_APP`), when set.
    pub modify_acl: Option<String>,
}

impl fmt::Debug for LaunchContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaunchContext")
            .field("local_resources", &self.local_resources)
            .field("environment", &self.environment)
            .field("commands", &self.commands)
            .field(
                "tokens",
                &self
                    .tokens
                    .as_ref()
                    .map(|t| format!("<{} bytes of credentials>", t.len())),
            )
            .field(
                "service_data",
                &self.service_data.keys().collect::<Vec<_>>(),
            )
            .field("view_acl", &self.view_acl)
            .field("modify_acl", &self.modify_acl)
            .finish()
    }
}

impl LaunchContext {
    /// Puts `credentials` in the context as a token file of `format`.
    pub fn set_credentials(&mut self, credentials: &Credentials, format: TokenFileFormat) {
        self.tokens = Some(credentials.to_bytes(format));
    }

    /// The credentials the context carries (empty when it carries none).
    pub fn credentials(&self) -> Result<Credentials, CredentialsError> {
        match &self.tokens {
            Some(bytes) => Credentials::from_bytes(bytes),
            None => Ok(Credentials::new()),
        }
    }
}

impl From<&LaunchContext> for pb::ContainerLaunchContextProto {
    fn from(c: &LaunchContext) -> Self {
        let mut acls = Vec::new();
        for (acl, access) in [
            (
                &c.view_acl,
                pb::ApplicationAccessTypeProto::AppaccessViewApp,
            ),
            (
                &c.modify_acl,
                pb::ApplicationAccessTypeProto::AppaccessModifyApp,
            ),
        ] {
            if let Some(acl) = acl {
                acls.push(pb::ApplicationAclMapProto {
                    access_type: Some(access as i32),
                    acl: Some(acl.clone()),
                });
            }
        }
        pb::ContainerLaunchContextProto {
            local_resources: c
                .local_resources
                .iter()
                .map(|(k, v)| pb::StringLocalResourceMapProto {
                    key: Some(k.clone()),
                    value: Some(v.into()),
                })
                .collect(),
            tokens: c.tokens.clone(),
            service_data: c
                .service_data
                .iter()
                .map(|(k, v)| pb::StringBytesMapProto {
                    key: Some(k.clone()),
                    value: Some(v.clone()),
                })
                .collect(),
            environment: c
                .environment
                .iter()
                .map(|(k, v)| pb::StringStringMapProto {
                    key: Some(k.clone()),
                    value: Some(v.clone()),
                })
                .collect(),
            command: c.commands.clone(),
            application_acls: acls,
            container_retry_context: None,
            tokens_conf: None,
        }
    }
}

impl TryFrom<&pb::ContainerLaunchContextProto> for LaunchContext {
    type Error = RecordError;
    fn try_from(p: &pb::ContainerLaunchContextProto) -> Result<Self, RecordError> {
        let mut local_resources = BTreeMap::new();
        for e in &p.local_resources {
            let v = e
                .value
                .as_ref()
                .ok_or(RecordError::missing("StringLocalResourceMapProto", "value"))?;
            local_resources.insert(e.key().to_owned(), v.try_into()?);
        }
        let mut ctx = LaunchContext {
            local_resources,
            environment: p
                .environment
                .iter()
                .map(|e| (e.key().to_owned(), e.value().to_owned()))
                .collect(),
            commands: p.command.clone(),
            tokens: p.tokens.clone(),
            service_data: p
                .service_data
                .iter()
                .map(|e| (e.key().to_owned(), e.value().to_vec()))
                .collect(),
            view_acl: None,
            modify_acl: None,
        };
        for acl in &p.application_acls {
            match acl.access_type() {
                pb::ApplicationAccessTypeProto::AppaccessViewApp => {
                    ctx.view_acl = Some(acl.acl().to_owned())
                }
                pb::ApplicationAccessTypeProto::AppaccessModifyApp => {
                    ctx.modify_acl = Some(acl.acl().to_owned())
                }
            }
        }
        Ok(ctx)
    }
}
