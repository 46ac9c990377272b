//! Hadoop configuration: the `core-site.xml`, `hdfs-site.xml` and `yarn-site.xml` a cluster ships in
//! `$HADOOP_CONF_DIR` (and `$YARN_CONF_DIR`), read the way Hadoop's `Configuration` reads them —
//! later files override earlier ones unless a property was marked `<final>true</final>`, and values
//! expand `${other.key}` and `${env.NAME}` — plus the addresses YARN and HDFS derive from them.
//!
//! Only the `*-site.xml` files are read; Hadoop's built-in defaults (its `*-default.xml`) are supplied
//! by the typed getters here instead.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use quick_xml::events::Event;

use crate::records::Resource;

/// How many substitutions one value may go through, as in Hadoop (which also stops there).
const MAX_SUBSTITUTIONS: usize = 20;

/// Property names and the defaults YARN and Hadoop give them.
pub mod keys {
    /// The default file system URI.
    pub const FS_DEFAULT_FS: &str = "fs.defaultFS";
    /// The pre-2.x name of [`FS_DEFAULT_FS`], still honoured.
    pub const FS_DEFAULT_NAME_DEPRECATED: &str = "fs.default.name";
    /// Default of [`FS_DEFAULT_FS`].
    pub const FS_DEFAULT_FS_DEFAULT: &str = "file:///";
    /// SASL quality of protection for Hadoop RPC: `authentication`, `integrity`, `privacy` (a list).
    pub const HADOOP_RPC_PROTECTION: &str = "hadoop.rpc.protection";
    /// `simple` or `kerberos`.
    pub const HADOOP_SECURITY_AUTHENTICATION: &str = "hadoop.security.authentication";

    /// The host every ResourceManager address defaults to.
    pub const RM_HOSTNAME: &str = "yarn.resourcemanager.hostname";
    /// Default of [`RM_HOSTNAME`].
    pub const RM_HOSTNAME_DEFAULT: &str = "0.0.0.0";
    /// Whether ResourceManager high availability is on.
    pub const RM_HA_ENABLED: &str = "yarn.resourcemanager.ha.enabled";
    /// The ResourceManager ids (comma list) when HA is on.
    pub const RM_HA_IDS: &str = "yarn.resourcemanager.ha.rm-ids";
    /// `HTTP_ONLY`, `HTTPS_ONLY` or `HTTP_AND_HTTPS` for YARN's web endpoints.
    pub const YARN_HTTP_POLICY: &str = "yarn.http.policy";
    /// Default of [`YARN_HTTP_POLICY`].
    pub const YARN_HTTP_POLICY_DEFAULT: &str = "HTTP_ONLY";

    /// Smallest memory the scheduler allocates (and, by default, its rounding step).
    pub const SCHEDULER_MIN_MB: &str = "yarn.scheduler.minimum-allocation-mb";
    /// Default of [`SCHEDULER_MIN_MB`].
    pub const SCHEDULER_MIN_MB_DEFAULT: i64 = 1024;
    /// Smallest number of vcores the scheduler allocates.
    pub const SCHEDULER_MIN_VCORES: &str = "yarn.scheduler.minimum-allocation-vcores";
    /// Default of [`SCHEDULER_MIN_VCORES`].
    pub const SCHEDULER_MIN_VCORES_DEFAULT: i32 = 1;
    /// Largest memory one container may get.
    pub const SCHEDULER_MAX_MB: &str = "yarn.scheduler.maximum-allocation-mb";
    /// Default of [`SCHEDULER_MAX_MB`].
    pub const SCHEDULER_MAX_MB_DEFAULT: i64 = 8192;
    /// Largest number of vcores one container may get.
    pub const SCHEDULER_MAX_VCORES: &str = "yarn.scheduler.maximum-allocation-vcores";
    /// Default of [`SCHEDULER_MAX_VCORES`].
    pub const SCHEDULER_MAX_VCORES_DEFAULT: i32 = 4;
    /// Memory a NodeManager offers.
    pub const NM_MEMORY_MB: &str = "yarn.nodemanager.resource.memory-mb";
    /// Default of [`NM_MEMORY_MB`].
    pub const NM_MEMORY_MB_DEFAULT: i64 = 8192;
    /// Vcores a NodeManager offers.
    pub const NM_VCORES: &str = "yarn.nodemanager.resource.cpu-vcores";
    /// Default of [`NM_VCORES`].
    pub const NM_VCORES_DEFAULT: i32 = 8;
    /// How many AM attempts an application gets at most.
    pub const RM_AM_MAX_ATTEMPTS: &str = "yarn.resourcemanager.am.max-attempts";
    /// Default of [`RM_AM_MAX_ATTEMPTS`].
    pub const RM_AM_MAX_ATTEMPTS_DEFAULT: i32 = 2;
    /// How long an AM may go without heartbeating before the RM expires it (ms).
    pub const AM_LIVENESS_EXPIRY_MS: &str = "yarn.am.liveness-monitor.expiry-interval-ms";
    /// Default of [`AM_LIVENESS_EXPIRY_MS`].
    pub const AM_LIVENESS_EXPIRY_MS_DEFAULT: u64 = 900_000;
    /// How long a client keeps trying to reach the RM (ms; -1 forever).
    pub const RM_CONNECT_MAX_WAIT_MS: &str = "yarn.resourcemanager.connect.max-wait.ms";
    /// Default of [`RM_CONNECT_MAX_WAIT_MS`].
    pub const RM_CONNECT_MAX_WAIT_MS_DEFAULT: i64 = 900_000;
    /// Pause between attempts to reach the RM (ms).
    pub const RM_CONNECT_RETRY_INTERVAL_MS: &str = "yarn.resourcemanager.connect.retry-interval.ms";
    /// Default of [`RM_CONNECT_RETRY_INTERVAL_MS`].
    pub const RM_CONNECT_RETRY_INTERVAL_MS_DEFAULT: u64 = 30_000;

    /// The NameNode's HTTP (WebHDFS) address.
    pub const DFS_NAMENODE_HTTP_ADDRESS: &str = "dfs.namenode.http-address";
    /// The NameNode's HTTPS address.
    pub const DFS_NAMENODE_HTTPS_ADDRESS: &str = "dfs.namenode.https-address";
    /// `HTTP_ONLY`, `HTTPS_ONLY` or `HTTP_AND_HTTPS` for HDFS's web endpoints.
    pub const DFS_HTTP_POLICY: &str = "dfs.http.policy";
    /// Default NameNode HTTP port (Hadoop 3).
    pub const DFS_NAMENODE_HTTP_PORT_DEFAULT: u16 = 9870;
    /// Default NameNode HTTPS port (Hadoop 3).
    pub const DFS_NAMENODE_HTTPS_PORT_DEFAULT: u16 = 9871;
}

/// A configuration file or value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// A file could not be read.
    #[error("reading Hadoop configuration {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not well-formed XML or not a Hadoop configuration.
    #[error("{file}:{line}: {message}")]
    Xml {
        /// The file (or resource name).
        file: String,
        /// The 1-based line where the problem was found.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A value does not have the type its key needs.
    #[error("{key} = {value:?} in {source_name}: {expected}")]
    BadValue {
        /// The property.
        key: String,
        /// Its (expanded) value.
        value: String,
        /// Where it was set.
        source_name: String,
        /// What was expected.
        expected: String,
    },
    /// `${...}` expansion did not terminate within Hadoop's limit.
    #[error(
        "expanding {key}: variable substitution depth exceeds {MAX_SUBSTITUTIONS} (in {value:?}); look for a cycle"
    )]
    SubstitutionDepth {
        /// The property.
        key: String,
        /// Its raw value.
        value: String,
    },
    /// A required property is missing.
    #[error("{key} is not set (needed for {needed_for})")]
    Missing {
        /// The property.
        key: String,
        /// What needed it.
        needed_for: String,
    },
}

#[derive(Debug, Clone)]
struct Property {
    value: String,
    is_final: bool,
    source: String,
}

/// Hadoop-style properties from `*-site.xml` files and programmatic overrides.
///
/// `Debug` lists the resources and the number of properties, never values (site files can hold
/// credentials such as object-store keys).
#[derive(Clone, Default)]
pub struct Configuration {
    props: HashMap<String, Property>,
    resources: Vec<String>,
    /// Environment for `${env.NAME}`; `None` means the process environment.
    env: Option<HashMap<String, String>>,
}

impl fmt::Debug for Configuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Configuration")
            .field("resources", &self.resources)
            .field("properties", &self.props.len())
            .finish_non_exhaustive()
    }
}

/// A `host:port` pair as Hadoop writes addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl HostPort {
    /// A host and port.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        HostPort {
            host: host.into(),
            port,
        }
    }

    /// Parses `host:port`, or `host` alone with `default_port` (as Hadoop's `NetUtils` does).
    pub fn parse_with_default(s: &str, default_port: u16) -> Result<HostPort, String> {
        let s = s.trim();
        let s = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"))
            .unwrap_or(s)
            .trim_end_matches('/');
        match s.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() => {
                let port = port
                    .parse()
                    .map_err(|_| format!("port {port:?} is not a number 0-65535"))?;
                Ok(HostPort::new(host, port))
            }
            Some(_) => Err("the host is empty".into()),
            None if s.is_empty() => Err("the address is empty".into()),
            None => Ok(HostPort::new(s, default_port)),
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// A ResourceManager endpoint whose address YARN derives from `yarn.resourcemanager.hostname`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmService {
    /// ApplicationClientProtocol (`yarn.resourcemanager.address`, 8032).
    Client,
    /// ApplicationMasterProtocol (`yarn.resourcemanager.scheduler.address`, 8030).
    Scheduler,
    /// NodeManager heartbeats (`yarn.resourcemanager.resource-tracker.address`, 8031).
    ResourceTracker,
    /// Admin protocol (`yarn.resourcemanager.admin.address`, 8033).
    Admin,
    /// Web UI and REST over HTTP (`yarn.resourcemanager.webapp.address`, 8088).
    Webapp,
    /// Web UI and REST over HTTPS (`yarn.resourcemanager.webapp.https.address`, 8090).
    WebappHttps,
}

impl RmService {
    /// The property naming the address.
    pub fn key(self) -> &'static str {
        match self {
            RmService::Client => "yarn.resourcemanager.address",
            RmService::Scheduler => "yarn.resourcemanager.scheduler.address",
            RmService::ResourceTracker => "yarn.resourcemanager.resource-tracker.address",
            RmService::Admin => "yarn.resourcemanager.admin.address",
            RmService::Webapp => "yarn.resourcemanager.webapp.address",
            RmService::WebappHttps => "yarn.resourcemanager.webapp.https.address",
        }
    }

    /// YARN's default port for it.
    pub fn default_port(self) -> u16 {
        match self {
            RmService::Client => 8032,
            RmService::Scheduler => 8030,
            RmService::ResourceTracker => 8031,
            RmService::Admin => 8033,
            RmService::Webapp => 8088,
            RmService::WebappHttps => 8090,
        }
    }
}

/// One ResourceManager a client may try: its HA id (when HA is on) and the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RmAddress {
    /// The id from `yarn.resourcemanager.ha.rm-ids`, or `None` without HA.
    pub rm_id: Option<String>,
    /// Where to connect.
    pub address: HostPort,
}

/// The quality of protection Hadoop RPC's SASL layer negotiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RpcProtection {
    /// Authentication only (`auth`).
    Authentication,
    /// Authentication and integrity (`auth-int`).
    Integrity,
    /// Authentication, integrity and encryption (`auth-conf`).
    Privacy,
}

impl RpcProtection {
    /// The SASL QOP token.
    pub fn qop(self) -> &'static str {
        match self {
            RpcProtection::Authentication => "auth",
            RpcProtection::Integrity => "auth-int",
            RpcProtection::Privacy => "auth-conf",
        }
    }
}

impl FromStr for RpcProtection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "authentication" => Ok(RpcProtection::Authentication),
            "integrity" => Ok(RpcProtection::Integrity),
            "privacy" => Ok(RpcProtection::Privacy),
            other => Err(format!(
                "{other:?} is not authentication, integrity or privacy"
            )),
        }
    }
}

/// `yarn.http.policy` / `dfs.http.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpPolicy {
    /// HTTP only (the default).
    HttpOnly,
    /// HTTPS only.
    HttpsOnly,
    /// Both.
    HttpAndHttps,
}

impl HttpPolicy {
    /// Whether clients should use HTTPS.
    pub fn is_https(self) -> bool {
        self == HttpPolicy::HttpsOnly
    }
}

impl FromStr for HttpPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "HTTP_ONLY" => Ok(HttpPolicy::HttpOnly),
            "HTTPS_ONLY" => Ok(HttpPolicy::HttpsOnly),
            "HTTP_AND_HTTPS" => Ok(HttpPolicy::HttpAndHttps),
            other => Err(format!(
                "{other:?} is not HTTP_ONLY, HTTPS_ONLY or HTTP_AND_HTTPS"
            )),
        }
    }
}

impl Configuration {
    /// No properties; `${env.NAME}` reads the process environment.
    pub fn new() -> Self {
        Configuration::default()
    }

    /// Uses `env` instead of the process environment for `${env.NAME}` (and `${user.name}`).
    pub fn with_env(mut self, env: HashMap<String, String>) -> Self {
        self.env = Some(env);
        self
    }

    /// Loads the site files the way a YARN client finds them: `core-site.xml` and `hdfs-site.xml`
    /// from `$HADOOP_CONF_DIR` (else `$HADOOP_HOME/etc/hadoop`), `yarn-site.xml` from `$YARN_CONF_DIR`
    /// when it has one, else from the Hadoop directory. Missing files are skipped.
    pub fn load_from_env() -> Result<Configuration, ConfError> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let hadoop =
            var("HADOOP_CONF_DIR").or_else(|| var("HADOOP_HOME").map(|h| h.join("etc/hadoop")));
        Configuration::load_from_dirs(hadoop.as_deref(), var("YARN_CONF_DIR").as_deref())
    }

    /// Loads `core-site.xml`, `hdfs-site.xml` and `yarn-site.xml`, in that order, from the given
    /// directories (see [`Configuration::load_from_env`]).
    pub fn load_from_dirs(
        hadoop_conf_dir: Option<&Path>,
        yarn_conf_dir: Option<&Path>,
    ) -> Result<Configuration, ConfError> {
        let mut conf = Configuration::new();
        let dirs: Vec<&Path> = hadoop_conf_dir.into_iter().chain(yarn_conf_dir).collect();
        let first_with =
            |file: &str, order: &[&Path]| order.iter().map(|d| d.join(file)).find(|p| p.is_file());
        let yarn_first: Vec<&Path> = yarn_conf_dir.into_iter().chain(hadoop_conf_dir).collect();
        for (file, order) in [
            ("core-site.xml", &dirs),
            ("hdfs-site.xml", &dirs),
            ("yarn-site.xml", &yarn_first),
        ] {
            if let Some(path) = first_with(file, order) {
                conf.add_resource_file(&path)?;
            }
        }
        Ok(conf)
    }

    /// Adds one `*-site.xml` file; its properties override earlier ones except final ones.
    pub fn add_resource_file(&mut self, path: impl AsRef<Path>) -> Result<(), ConfError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfError::Io {
            path: path.display().to_string(),
            source,
        })?;
        self.add_resource_str(&text, &path.display().to_string())
    }

    /// Adds a configuration document held in memory; `name` is used in errors and [`Configuration::source`].
    pub fn add_resource_str(&mut self, xml: &str, name: &str) -> Result<(), ConfError> {
        for p in parse_document(xml, name)? {
            self.put(p.name, p.value, p.is_final, name);
        }
        self.resources.push(name.to_owned());
        Ok(())
    }

    fn put(&mut self, key: String, value: String, is_final: bool, source: &str) {
        if let Some(old) = self.props.get(&key)
            && old.is_final
        {
            tracing::warn!(
                key,
                final_in = old.source,
                ignored_in = source,
                "not overriding a final property"
            );
            return;
        }
        self.props.insert(
            key,
            Property {
                value,
                is_final,
                source: source.to_owned(),
            },
        );
    }

    /// Sets a property programmatically (this overrides even final ones, as in Hadoop).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.props.insert(
            key.into(),
            Property {
                value: value.into(),
                is_final: false,
                source: "programmatically".into(),
            },
        );
    }

    /// Removes a property.
    pub fn unset(&mut self, key: &str) {
        self.props.remove(key);
    }

    /// The resources loaded, in order.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// Where `key` was set (a file name, or `programmatically`).
    pub fn source(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(|p| p.source.as_str())
    }

    /// The value as written, without expansion.
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(|p| p.value.as_str())
    }

    /// The value with `${...}` expanded (Hadoop's rules: other keys, `${env.NAME}`,
    /// `${env.NAME:-default}`, `${env.NAME-default}`; an unresolvable reference is left as written).
    pub fn get(&self, key: &str) -> Result<Option<String>, ConfError> {
        match self.get_raw(key) {
            None => Ok(None),
            Some(raw) => self.expand(key, raw).map(Some),
        }
    }

    /// [`Configuration::get`], trimmed, or `default` when unset.
    pub fn get_or(&self, key: &str, default: &str) -> Result<String, ConfError> {
        Ok(self.get_trimmed(key)?.unwrap_or_else(|| default.to_owned()))
    }

    /// The expanded value with surrounding whitespace removed.
    pub fn get_trimmed(&self, key: &str) -> Result<Option<String>, ConfError> {
        Ok(self.get(key)?.map(|v| v.trim().to_owned()))
    }

    fn parsed<T>(
        &self,
        key: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfError> {
        let Some(v) = self.get_trimmed(key)? else {
            return Ok(None);
        };
        parse(&v).map(Some).ok_or_else(|| ConfError::BadValue {
            key: key.to_owned(),
            value: v,
            source_name: self.source(key).unwrap_or("?").to_owned(),
            expected: expected.to_owned(),
        })
    }

    /// A boolean (`true`/`false`, any case), or `default` when unset.
    pub fn get_bool(&self, key: &str, default: bool) -> Result<bool, ConfError> {
        let v = self.parsed(key, "expected true or false", |v| {
            match v.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }
        })?;
        Ok(v.unwrap_or(default))
    }

    /// A 32-bit integer (decimal, or hex with `0x`), or `default` when unset.
    pub fn get_i32(&self, key: &str, default: i32) -> Result<i32, ConfError> {
        let v = self.parsed(key, "expected a 32-bit integer", |v| {
            parse_int(v).and_then(|n| i32::try_from(n).ok())
        })?;
        Ok(v.unwrap_or(default))
    }

    /// A 64-bit integer (decimal, or hex with `0x`), or `default` when unset.
    pub fn get_i64(&self, key: &str, default: i64) -> Result<i64, ConfError> {
        Ok(self
            .parsed(key, "expected a 64-bit integer", parse_int)?
            .unwrap_or(default))
    }

    /// A duration: a number with an optional unit suffix (`ns`, `us`, `ms`, `s`, `m`, `h`, `d`);
    /// a bare number is in `unit`, as Hadoop's `getTimeDuration` reads it.
    pub fn get_duration(
        &self,
        key: &str,
        default: Duration,
        unit: Duration,
    ) -> Result<Duration, ConfError> {
        let v = self.parsed(
            key,
            "expected a non-negative duration such as 30s, 500ms or 15m",
            |v| parse_duration(v, unit),
        )?;
        Ok(v.unwrap_or(default))
    }

    /// A comma-separated list, each item trimmed, empty items dropped (Hadoop's `getTrimmedStrings`).
    pub fn get_strings(&self, key: &str) -> Result<Vec<String>, ConfError> {
        Ok(self
            .get(key)?
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// An address `host:port` (or `host`, taking `default_port`), or `None` when unset.
    pub fn get_host_port(
        &self,
        key: &str,
        default_port: u16,
    ) -> Result<Option<HostPort>, ConfError> {
        self.parsed(key, "expected host:port", |v| {
            HostPort::parse_with_default(v, default_port).ok()
        })
    }

    // ---- YARN ----

    /// `yarn.resourcemanager.hostname` (default `0.0.0.0`).
    pub fn rm_hostname(&self) -> Result<String, ConfError> {
        self.get_or(keys::RM_HOSTNAME, keys::RM_HOSTNAME_DEFAULT)
    }

    /// Whether ResourceManager HA is on.
    pub fn rm_ha_enabled(&self) -> Result<bool, ConfError> {
        self.get_bool(keys::RM_HA_ENABLED, false)
    }

    /// The address of one ResourceManager endpoint without HA: the explicit property, else
    /// `yarn.resourcemanager.hostname` with YARN's default port.
    pub fn rm_address(&self, service: RmService) -> Result<HostPort, ConfError> {
        match self.get_host_port(service.key(), service.default_port())? {
            Some(a) => Ok(a),
            None => Ok(HostPort::new(self.rm_hostname()?, service.default_port())),
        }
    }

    /// Every ResourceManager a client should try for `service`, in order. Without HA that is one
    /// address; with HA one per id in `yarn.resourcemanager.ha.rm-ids`, each from `<key>.<id>`, else
    /// `yarn.resourcemanager.hostname.<id>` with the default port.
    pub fn rm_addresses(&self, service: RmService) -> Result<Vec<RmAddress>, ConfError> {
        if !self.rm_ha_enabled()? {
            return Ok(vec![RmAddress {
                rm_id: None,
                address: self.rm_address(service)?,
            }]);
        }
        let ids = self.get_strings(keys::RM_HA_IDS)?;
        if ids.is_empty() {
            return Err(ConfError::Missing {
                key: keys::RM_HA_IDS.into(),
                needed_for: format!("{} = true", keys::RM_HA_ENABLED),
            });
        }
        ids.into_iter()
            .map(|id| {
                let key = format!("{}.{id}", service.key());
                let address = match self.get_host_port(&key, service.default_port())? {
                    Some(a) => a,
                    None => {
                        let host_key = format!("{}.{id}", keys::RM_HOSTNAME);
                        let host =
                            self.get_trimmed(&host_key)?
                                .ok_or_else(|| ConfError::Missing {
                                    key: format!("{key} or {host_key}"),
                                    needed_for: format!(
                                        "ResourceManager {id:?} of {}",
                                        keys::RM_HA_IDS
                                    ),
                                })?;
                        HostPort::new(host, service.default_port())
                    }
                };
                Ok(RmAddress {
                    rm_id: Some(id),
                    address,
                })
            })
            .collect()
    }

    /// `yarn.http.policy`.
    pub fn yarn_http_policy(&self) -> Result<HttpPolicy, ConfError> {
        let v = self.parsed(
            keys::YARN_HTTP_POLICY,
            "expected HTTP_ONLY, HTTPS_ONLY or HTTP_AND_HTTPS",
            |v| v.parse().ok(),
        )?;
        Ok(v.unwrap_or(HttpPolicy::HttpOnly))
    }

    /// The ResourceManager web (REST) endpoints and their scheme: HTTPS ones (8090) when
    /// `yarn.http.policy` is `HTTPS_ONLY`, else HTTP (8088).
    pub fn rm_webapp_addresses(&self) -> Result<(&'static str, Vec<RmAddress>), ConfError> {
        if self.yarn_http_policy()?.is_https() {
            Ok(("https", self.rm_addresses(RmService::WebappHttps)?))
        } else {
            Ok(("http", self.rm_addresses(RmService::Webapp)?))
        }
    }

    /// The scheduler's smallest allocation (also its default rounding step).
    pub fn scheduler_minimum_allocation(&self) -> Result<Resource, ConfError> {
        Ok(Resource::new(
            self.get_i64(keys::SCHEDULER_MIN_MB, keys::SCHEDULER_MIN_MB_DEFAULT)?,
            self.get_i32(
                keys::SCHEDULER_MIN_VCORES,
                keys::SCHEDULER_MIN_VCORES_DEFAULT,
            )?,
        ))
    }

    /// The largest container the scheduler grants.
    pub fn scheduler_maximum_allocation(&self) -> Result<Resource, ConfError> {
        Ok(Resource::new(
            self.get_i64(keys::SCHEDULER_MAX_MB, keys::SCHEDULER_MAX_MB_DEFAULT)?,
            self.get_i32(
                keys::SCHEDULER_MAX_VCORES,
                keys::SCHEDULER_MAX_VCORES_DEFAULT,
            )?,
        ))
    }

    /// What one NodeManager offers.
    pub fn node_manager_resource(&self) -> Result<Resource, ConfError> {
        Ok(Resource::new(
            self.get_i64(keys::NM_MEMORY_MB, keys::NM_MEMORY_MB_DEFAULT)?,
            self.get_i32(keys::NM_VCORES, keys::NM_VCORES_DEFAULT)?,
        ))
    }

    /// `yarn.resourcemanager.am.max-attempts`.
    pub fn rm_am_max_attempts(&self) -> Result<i32, ConfError> {
        self.get_i32(keys::RM_AM_MAX_ATTEMPTS, keys::RM_AM_MAX_ATTEMPTS_DEFAULT)
    }

    /// `yarn.am.liveness-monitor.expiry-interval-ms`.
    pub fn am_liveness_expiry(&self) -> Result<Duration, ConfError> {
        self.get_duration(
            keys::AM_LIVENESS_EXPIRY_MS,
            Duration::from_millis(keys::AM_LIVENESS_EXPIRY_MS_DEFAULT),
            Duration::from_millis(1),
        )
    }

    /// How long to keep trying to reach the RM: `None` for forever (`-1`).
    pub fn rm_connect_max_wait(&self) -> Result<Option<Duration>, ConfError> {
        let ms = self.get_i64(
            keys::RM_CONNECT_MAX_WAIT_MS,
            keys::RM_CONNECT_MAX_WAIT_MS_DEFAULT,
        )?;
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }

    /// Pause between attempts to reach the RM.
    pub fn rm_connect_retry_interval(&self) -> Result<Duration, ConfError> {
        self.get_duration(
            keys::RM_CONNECT_RETRY_INTERVAL_MS,
            Duration::from_millis(keys::RM_CONNECT_RETRY_INTERVAL_MS_DEFAULT),
            Duration::from_millis(1),
        )
    }

    // ---- Hadoop common and HDFS ----

    /// `hadoop.rpc.protection` as a list, most preferred first (default: authentication).
    pub fn rpc_protection(&self) -> Result<Vec<RpcProtection>, ConfError> {
        let items = self.get_strings(keys::HADOOP_RPC_PROTECTION)?;
        if items.is_empty() {
            return Ok(vec![RpcProtection::Authentication]);
        }
        items
            .iter()
            .map(|s| {
                s.parse().map_err(|e: String| ConfError::BadValue {
                    key: keys::HADOOP_RPC_PROTECTION.into(),
                    value: items.join(","),
                    source_name: self
                        .source(keys::HADOOP_RPC_PROTECTION)
                        .unwrap_or("?")
                        .to_owned(),
                    expected: e,
                })
            })
            .collect()
    }

    /// `fs.defaultFS` (or its old name `fs.default.name`), default `file:///`.
    pub fn default_fs(&self) -> Result<String, ConfError> {
        match self.get_trimmed(keys::FS_DEFAULT_FS)? {
            Some(v) => Ok(v),
            None => self.get_or(
                keys::FS_DEFAULT_NAME_DEPRECATED,
                keys::FS_DEFAULT_FS_DEFAULT,
            ),
        }
    }

    /// The NameNode web addresses WebHDFS should use, with the scheme (`http`, or `https` when
    /// `dfs.http.policy` is `HTTPS_ONLY`). With HDFS HA (`fs.defaultFS` naming a nameservice listed in
    /// `dfs.nameservices`) one address per NameNode in `dfs.ha.namenodes.<ns>`, from
    /// `dfs.namenode.http-address.<ns>.<nn>`; otherwise `dfs.namenode.http-address`, else the host of
    /// `fs.defaultFS` with port 9870 (9871 for HTTPS).
    pub fn namenode_http_addresses(&self) -> Result<(&'static str, Vec<HostPort>), ConfError> {
        let https = self
            .parsed(
                keys::DFS_HTTP_POLICY,
                "expected HTTP_ONLY, HTTPS_ONLY or HTTP_AND_HTTPS",
                |v| v.parse::<HttpPolicy>().ok(),
            )?
            .is_some_and(HttpPolicy::is_https);
        let (scheme, key, port) = if https {
            (
                "https",
                keys::DFS_NAMENODE_HTTPS_ADDRESS,
                keys::DFS_NAMENODE_HTTPS_PORT_DEFAULT,
            )
        } else {
            (
                "http",
                keys::DFS_NAMENODE_HTTP_ADDRESS,
                keys::DFS_NAMENODE_HTTP_PORT_DEFAULT,
            )
        };
        let fs = self.default_fs()?;
        let authority = fs
            .strip_prefix("hdfs://")
            .or_else(|| fs.strip_prefix("webhdfs://"))
            .map(|rest| rest.split('/').next().unwrap_or(""));
        if let Some(ns) = authority
            && self
                .get_strings("dfs.nameservices")?
                .iter()
                .any(|s| s == ns)
        {
            let nns = self.get_strings(&format!("dfs.ha.namenodes.{ns}"))?;
            let mut out = Vec::new();
            for nn in &nns {
                let k = format!("{key}.{ns}.{nn}");
                out.push(
                    self.get_host_port(&k, port)?
                        .ok_or_else(|| ConfError::Missing {
                            key: k.clone(),
                            needed_for: format!("NameNode {nn:?} of nameservice {ns:?}"),
                        })?,
                );
            }
            if !out.is_empty() {
                return Ok((scheme, out));
            }
            if let Some(a) = self.get_host_port(&format!("{key}.{ns}"), port)? {
                return Ok((scheme, vec![a]));
            }
        }
        if let Some(a) = self.get_host_port(key, port)? {
            return Ok((scheme, vec![a]));
        }
        match authority.map(|a| a.rsplit_once(':').map_or(a, |(h, _)| h)) {
            Some(host) if !host.is_empty() => Ok((scheme, vec![HostPort::new(host, port)])),
            _ => Err(ConfError::Missing {
                key: key.into(),
                needed_for: format!("WebHDFS (fs.defaultFS is {fs:?})"),
            }),
        }
    }

    // ---- expansion ----

    fn env_var(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(env) => env.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// Resolves the name inside `${...}`.
    fn lookup(&self, var: &str) -> Option<String> {
        if let Some(spec) = var.strip_prefix("env.")
            && !spec.is_empty()
        {
            // ${env.NAME:-default}: default when unset or empty; ${env.NAME-default}: when unset.
            if let Some((name, default)) = spec.split_once(":-") {
                return Some(
                    self.env_var(name)
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| default.to_owned()),
                );
            }
            if let Some((name, default)) = spec.split_once('-') {
                return Some(self.env_var(name).unwrap_or_else(|| default.to_owned()));
            }
            if let Some(v) = self.env_var(spec) {
                return Some(v);
            }
        }
        if let Some(v) = self.get_raw(var) {
            return Some(v.to_owned());
        }
        // The one Java system property Hadoop's defaults lean on.
        if var == "user.name" {
            return self.env_var("USER").or_else(|| self.env_var("LOGNAME"));
        }
        None
    }

    fn expand(&self, key: &str, raw: &str) -> Result<String, ConfError> {
        let mut eval = raw.to_owned();
        for _ in 0..MAX_SUBSTITUTIONS {
            let Some((start, end)) = find_variable(&eval) else {
                return Ok(eval);
            };
            let var = &eval[start + 2..end - 1];
            let Some(val) = self.lookup(var) else {
                // Unbound: Hadoop returns the text as it stands.
                return Ok(eval);
            };
            if val.contains(&eval[start..end]) {
                // A value that refers to itself: Hadoop returns the original text.
                return Ok(raw.to_owned());
            }
            eval = format!("{}{}{}", &eval[..start], val, &eval[end..]);
        }
        if find_variable(&eval).is_none() {
            return Ok(eval);
        }
        Err(ConfError::SubstitutionDepth {
            key: key.to_owned(),
            value: raw.to_owned(),
        })
    }
}

/// The first `${name}` (name without `$`, `}` or spaces, non-empty): byte range of the whole reference.
fn find_variable(s: &str) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(rel) = s[from..].find("${") {
        let start = from + rel;
        let mut i = start + 2;
        while i < bytes.len() && !matches!(bytes[i], b'}' | b'$' | b' ') {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'}' && i > start + 2 {
            return Some((start, i + 1));
        }
        from = start + 1;
    }
    None
}

fn parse_int(v: &str) -> Option<i64> {
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    let n = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i64>().ok()?,
    };
    Some(if neg { -n } else { n })
}

fn parse_duration(v: &str, unit: Duration) -> Option<Duration> {
    let v = v.trim().to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, suffix) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let per = match suffix.trim() {
        "" => unit,
        "ns" => Duration::from_nanos(1),
        "us" => Duration::from_micros(1),
        "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        "d" => Duration::from_secs(86400),
        _ => return None,
    };
    per.checked_mul(u32::try_from(n).ok()?)
}

/// One `<property>` read from a document.
struct RawProperty {
    name: String,
    value: String,
    is_final: bool,
}

/// Which child of `<property>` text currently belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Value,
    Final,
    Ignored,
}

/// Reads a Hadoop configuration document: `<configuration>` holding `<property>` elements with
/// `<name>`, `<value>` and `<final>` children (or the same as attributes). Properties without a value
/// are skipped, as Hadoop does; names are trimmed, values kept as written.
fn parse_document(xml: &str, file: &str) -> Result<Vec<RawProperty>, ConfError> {
    let line_at = |pos: u64| {
        xml.as_bytes()[..(pos as usize).min(xml.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let err = |reader: &quick_xml::Reader<&[u8]>, message: String, at_error: bool| ConfError::Xml {
        file: file.to_owned(),
        line: line_at(if at_error {
            reader.error_position()
        } else {
            reader.buffer_position()
        }),
        message,
    };

    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut seen_root = false;
    // The property being read: name, value, final.
    let mut current: Option<(Option<String>, Option<String>, bool)> = None;
    let mut field: Option<(Field, String)> = None;
    let mut text = String::new();

    loop {
        let event = reader
            .read_event()
            .map_err(|e| err(&reader, format!("malformed XML: {e}"), true))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let tag = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if depth == 0 {
                    if tag != "configuration" {
                        return Err(err(
                            &reader,
                            format!("the root element is <{tag}>, not <configuration>"),
                            false,
                        ));
                    }
                    seen_root = true;
                } else if tag == "include" && current.is_none() {
                    // XInclude is not followed; say so rather than silently missing properties.
                    let href = e
                        .try_get_attribute("href")
                        .ok()
                        .flatten()
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                        .unwrap_or_default();
                    tracing::warn!(
                        file,
                        href,
                        "XInclude in a Hadoop configuration file is not supported; ignoring it"
                    );
                } else if tag == "property" {
                    let mut attrs = (None, None, false);
                    for a in e.attributes() {
                        let a =
                            a.map_err(|x| err(&reader, format!("bad attribute: {x}"), false))?;
                        let v = a
                            .unescape_value()
                            .map_err(|x| err(&reader, format!("bad attribute value: {x}"), false))?
                            .into_owned();
                        match a.key.local_name().as_ref() {
                            b"name" => attrs.0 = Some(v.trim().to_owned()),
                            b"value" => attrs.1 = Some(v),
                            b"final" => attrs.2 = v.trim() == "true",
                            _ => {}
                        }
                    }
                    current = Some(attrs);
                    field = None;
                } else if current.is_some() && field.is_none() {
                    let f = match tag.as_str() {
                        "name" => Field::Name,
                        "value" => Field::Value,
                        "final" => Field::Final,
                        _ => Field::Ignored,
                    };
                    field = Some((f, tag.clone()));
                    text.clear();
                }
                if is_empty {
                    end_element(&tag, &mut current, &mut field, &mut text, &mut out);
                } else {
                    depth += 1;
                }
            }
            Event::End(ref e) => {
                let tag = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                depth = depth.saturating_sub(1);
                end_element(&tag, &mut current, &mut field, &mut text, &mut out);
            }
            Event::Text(t) => {
                if field.is_some() {
                    let s = t
                        .xml_content()
                        .map_err(|e| err(&reader, format!("undecodable text: {e}"), false))?;
                    text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if field.is_some() {
                    let s = t
                        .decode()
                        .map_err(|e| err(&reader, format!("undecodable CDATA: {e}"), false))?;
                    text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r
                            .decode()
                            .map_err(|e| err(&reader, format!("bad entity: {e}"), false))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| err(&reader, format!("unknown entity &{name};"), false))?
                            .to_owned()
                    }
                    Err(e) => {
                        return Err(err(&reader, format!("bad character reference: {e}"), false));
                    }
                };
                if field.is_some() {
                    text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !seen_root {
        return Err(err(&reader, "no <configuration> element".into(), false));
    }
    if depth != 0 {
        return Err(err(
            &reader,
            "the document ends inside an element".into(),
            false,
        ));
    }
    Ok(out)
}

fn end_element(
    tag: &str,
    current: &mut Option<(Option<String>, Option<String>, bool)>,
    field: &mut Option<(Field, String)>,
    text: &mut String,
    out: &mut Vec<RawProperty>,
) {
    if tag == "property" && field.is_none() {
        if let Some((Some(name), Some(value), is_final)) = current.take()
            && !name.is_empty()
        {
            out.push(RawProperty {
                name,
                value,
                is_final,
            });
        }
        return;
    }
    let Some((f, open_tag)) = field.as_ref() else {
        return;
    };
    if open_tag != tag {
        return;
    }
    if let Some(cur) = current.as_mut() {
        match f {
            Field::Name => cur.0 = Some(text.trim().to_owned()),
            Field::Value => cur.1 = Some(std::mem::take(text)),
            Field::Final => cur.2 = text.trim() == "true",
            Field::Ignored => {}
        }
    }
    *field = None;
    text.clear();
}
