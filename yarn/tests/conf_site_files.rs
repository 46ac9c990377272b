//! Hadoop site files: directory lookup, override order and `final`, `${...}` expansion, typed getters
//! with YARN's defaults, derived ResourceManager and NameNode addresses (with and without HA), and
//! errors that name the file and line.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use yarn::conf::{
    ConfError, Configuration, HostPort, HttpPolicy, RmAddress, RmService, RpcProtection,
};
use yarn::records::Resource;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/conf")
        .join(name)
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn site() -> Configuration {
    Configuration::load_from_dirs(Some(&dir("hadoop")), Some(&dir("yarn")))
        .unwrap()
        .with_env(env(&[
            ("SPINDLE_TEST_LOG_ROOT", "/var/log/yarn"),
            ("USER", "alice"),
        ]))
}

#[test]
fn files_load_in_order_and_yarn_conf_dir_wins_for_yarn_site() {
    let c = site();
    let names: Vec<_> = c
        .resources()
        .iter()
        .map(|r| r.rsplit('/').take(2).collect::<Vec<_>>())
        .collect();
    assert_eq!(
        names,
        [
            ["core-site.xml", "hadoop"],
            ["hdfs-site.xml", "hadoop"],
            ["yarn-site.xml", "yarn"]
        ]
    );
    assert_eq!(
        c.rm_hostname().unwrap(),
        "rm.example.com",
        "names are trimmed"
    );
    assert!(
        c.source("yarn.resourcemanager.hostname")
            .unwrap()
            .ends_with("yarn/yarn-site.xml")
    );

    // Without YARN_CONF_DIR, the Hadoop directory's yarn-site.xml is used.
    let only_hadoop = Configuration::load_from_dirs(Some(&dir("hadoop")), None).unwrap();
    assert_eq!(only_hadoop.rm_hostname().unwrap(), "wrong.example.com");
    // No directories: nothing loaded, defaults apply.
    let none = Configuration::load_from_dirs(None, None).unwrap();
    assert!(none.resources().is_empty());
    assert_eq!(
        none.rm_address(RmService::Scheduler).unwrap(),
        HostPort::new("0.0.0.0", 8030)
    );
}

#[test]
fn final_properties_resist_later_files_but_not_set() {
    let mut c = site();
    assert_eq!(
        c.rpc_protection().unwrap(),
        [RpcProtection::Privacy, RpcProtection::Authentication]
    );
    assert!(
        c.source("hadoop.rpc.protection")
            .unwrap()
            .ends_with("core-site.xml")
    );
    c.set("hadoop.rpc.protection", "integrity");
    assert_eq!(c.rpc_protection().unwrap(), [RpcProtection::Integrity]);
    assert_eq!(RpcProtection::Integrity.qop(), "auth-int");
}

#[test]
fn values_expand_other_keys_env_and_entities() {
    let c = site();
    assert_eq!(
        c.rm_address(RmService::Scheduler).unwrap(),
        HostPort::new("rm.example.com", 18030)
    );
    assert_eq!(
        c.get("hadoop.tmp.dir").unwrap().unwrap(),
        "/tmp/hadoop-alice"
    );
    assert_eq!(
        c.get_strings("yarn.nodemanager.log-dirs").unwrap(),
        ["/var/log/yarn/logs", "/data/<b>/x"]
    );
    assert_eq!(c.get("spindle.attr.form").unwrap().unwrap(), "a & b");
    assert_eq!(
        c.get("spindle.no.value").unwrap(),
        None,
        "a property without a value is skipped"
    );
}

#[test]
fn expansion_follows_hadoops_rules() {
    let mut c = Configuration::new().with_env(env(&[("HOME", "/home/u"), ("EMPTY", "")]));
    c.set("a", "${b}/x");
    c.set("b", "${c}-y");
    c.set("c", "z");
    c.set("unbound", "${nope}/${c}");
    c.set("self", "pre-${self}");
    c.set("loop1", "${loop2}");
    c.set("loop2", "${loop1}x");
    c.set("env", "${env.HOME}/data");
    c.set(
        "env.default",
        "${env.MISSING:-fallback} ${env.EMPTY:-dflt} ${env.EMPTY-kept}|",
    );
    c.set("not.var", "$ {x} ${} ${a b}");
    assert_eq!(c.get("a").unwrap().unwrap(), "z-y/x");
    assert_eq!(
        c.get("unbound").unwrap().unwrap(),
        "${nope}/${c}",
        "stops at the first unbound reference"
    );
    assert_eq!(c.get("self").unwrap().unwrap(), "pre-${self}");
    assert_eq!(c.get("env").unwrap().unwrap(), "/home/u/data");
    assert_eq!(c.get("env.default").unwrap().unwrap(), "fallback dflt |");
    assert_eq!(c.get("not.var").unwrap().unwrap(), "$ {x} ${} ${a b}");
    let e = c.get("loop1").unwrap_err();
    assert!(matches!(e, ConfError::SubstitutionDepth { .. }), "{e}");
    assert!(
        e.to_string().contains("loop1") && e.to_string().contains("20"),
        "{e}"
    );
}

#[test]
fn typed_getters_and_yarn_defaults() {
    let mut c = site();
    assert_eq!(
        c.scheduler_minimum_allocation().unwrap(),
        Resource::new(512, 1),
        "values are trimmed"
    );
    assert_eq!(
        c.scheduler_maximum_allocation().unwrap(),
        Resource::new(8192, 4)
    );
    assert_eq!(c.node_manager_resource().unwrap(), Resource::new(8192, 8));
    assert_eq!(c.rm_am_max_attempts().unwrap(), 2);
    assert_eq!(c.am_liveness_expiry().unwrap(), Duration::from_secs(900));
    assert_eq!(
        c.rm_connect_retry_interval().unwrap(),
        Duration::from_secs(30)
    );
    assert_eq!(
        c.rm_connect_max_wait().unwrap(),
        Some(Duration::from_secs(900))
    );
    c.set("yarn.resourcemanager.connect.max-wait.ms", "-1");
    assert_eq!(c.rm_connect_max_wait().unwrap(), None);
    c.set("t", "90s");
    assert_eq!(
        c.get_duration("t", Duration::ZERO, Duration::from_millis(1))
            .unwrap(),
        Duration::from_secs(90)
    );
    c.set("t", "250");
    assert_eq!(
        c.get_duration("t", Duration::ZERO, Duration::from_millis(1))
            .unwrap(),
        Duration::from_millis(250)
    );
    c.set("hex", "0x10");
    assert_eq!(c.get_i32("hex", 0).unwrap(), 16);
    c.set("flag", "TRUE");
    assert!(c.get_bool("flag", false).unwrap());
    c.set("yarn.scheduler.minimum-allocation-mb", "lots");
    let e = c.scheduler_minimum_allocation().unwrap_err().to_string();
    assert!(
        e.contains("yarn.scheduler.minimum-allocation-mb = \"lots\"")
            && e.contains("64-bit integer"),
        "{e}"
    );
    c.set("flag", "yes");
    assert!(c.get_bool("flag", false).is_err());
    assert_eq!(c.default_fs().unwrap(), "hdfs://nn1.example.com:8020");
}

#[test]
fn rm_addresses_without_ha() {
    let c = site();
    let cases = [
        (RmService::Client, 8032),
        (RmService::ResourceTracker, 8031),
        (RmService::Admin, 8033),
        (RmService::Webapp, 8088),
        (RmService::WebappHttps, 8090),
    ];
    for (service, port) in cases {
        assert_eq!(
            c.rm_addresses(service).unwrap(),
            [RmAddress {
                rm_id: None,
                address: HostPort::new("rm.example.com", port)
            }]
        );
    }
    assert_eq!(c.yarn_http_policy().unwrap(), HttpPolicy::HttpOnly);
    let (scheme, web) = c.rm_webapp_addresses().unwrap();
    assert_eq!(
        (scheme, web[0].address.to_string().as_str()),
        ("http", "rm.example.com:8088")
    );
}

#[test]
fn rm_addresses_with_ha_and_https() {
    let c = Configuration::load_from_dirs(Some(&dir("ha")), None).unwrap();
    let sched = c.rm_addresses(RmService::Scheduler).unwrap();
    let got: Vec<_> = sched
        .iter()
        .map(|a| (a.rm_id.as_deref().unwrap(), a.address.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("rm1", "master1.example.com:8030".to_string()),
            ("rm2", "10.1.1.2:9030".to_string()),
            ("rm3", "master3.example.com:8030".to_string()),
        ]
    );
    let (scheme, web) = c.rm_webapp_addresses().unwrap();
    assert_eq!(scheme, "https");
    assert_eq!(web[0].address, HostPort::new("master1.example.com", 8090));

    let mut broken = c.clone();
    broken.unset("yarn.resourcemanager.hostname.rm3");
    let e = broken
        .rm_addresses(RmService::Client)
        .unwrap_err()
        .to_string();
    assert!(e.contains("yarn.resourcemanager.hostname.rm3"), "{e}");
    broken.unset("yarn.resourcemanager.ha.rm-ids");
    let e = broken
        .rm_addresses(RmService::Client)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("yarn.resourcemanager.ha.rm-ids is not set"),
        "{e}"
    );
}

#[test]
fn namenode_web_addresses() {
    // Explicit address.
    assert_eq!(
        site().namenode_http_addresses().unwrap(),
        ("http", vec![HostPort::new("nn1.example.com", 50070)])
    );
    // Derived from fs.defaultFS's host with the Hadoop 3 port.
    let mut c = Configuration::new();
    c.set("fs.defaultFS", "hdfs://nn.example.com:8020/");
    assert_eq!(
        c.namenode_http_addresses().unwrap(),
        ("http", vec![HostPort::new("nn.example.com", 9870)])
    );
    c.set("dfs.http.policy", "HTTPS_ONLY");
    assert_eq!(
        c.namenode_http_addresses().unwrap(),
        ("https", vec![HostPort::new("nn.example.com", 9871)])
    );
    // HDFS HA: one per NameNode of the nameservice.
    let ha = Configuration::load_from_dirs(Some(&dir("ha")), None).unwrap();
    assert_eq!(
        ha.namenode_http_addresses().unwrap(),
        (
            "http",
            vec![
                HostPort::new("nn1.example.com", 9870),
                HostPort::new("nn2.example.com", 9870)
            ]
        )
    );
    // file:/// has no NameNode.
    assert!(Configuration::new().namenode_http_addresses().is_err());
}

#[test]
fn malformed_files_name_the_file_and_line() {
    let mut c = Configuration::new();
    let xml = "<?xml version=\"1.0\"?>\n<configuration>\n  <property>\n    <name>a</name>\n    <value>1</valu>\n  </property>\n</configuration>\n";
    let e = c.add_resource_str(xml, "broken-site.xml").unwrap_err();
    match &e {
        ConfError::Xml { file, line, .. } => {
            assert_eq!(file, "broken-site.xml");
            assert_eq!(*line, 5, "{e}");
        }
        other => panic!("{other}"),
    }
    assert!(
        e.to_string()
            .starts_with("broken-site.xml:5: malformed XML"),
        "{e}"
    );

    let e = c
        .add_resource_str("<conf>\n</conf>", "x.xml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("x.xml:1: the root element is <conf>, not <configuration>"),
        "{e}"
    );
    let e = c
        .add_resource_str("<configuration>\n<property>", "y.xml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("y.xml:"), "{e}");
    let e = c.add_resource_str("", "empty.xml").unwrap_err().to_string();
    assert!(e.contains("no <configuration> element"), "{e}");
    let e = c
        .add_resource_str("<configuration><property><name>a</name><value>&bogus;</value></property></configuration>", "z.xml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("z.xml:1:"), "{e}");
    assert!(
        c.resources().is_empty(),
        "failed resources are not recorded"
    );

    let missing = dir("nope").join("core-site.xml");
    let e = c.add_resource_file(&missing).unwrap_err().to_string();
    assert!(e.contains("nope/core-site.xml"), "{e}");
}

#[test]
fn host_port_parsing() {
    assert_eq!(
        HostPort::parse_with_default("h:1", 9).unwrap(),
        HostPort::new("h", 1)
    );
    assert_eq!(
        HostPort::parse_with_default(" h ", 9).unwrap(),
        HostPort::new("h", 9)
    );
    assert_eq!(
        HostPort::parse_with_default("http://h:8088/", 9).unwrap(),
        HostPort::new("h", 8088)
    );
    for bad in ["", ":1", "h:x", "h:70000"] {
        assert!(HostPort::parse_with_default(bad, 9).is_err(), "{bad:?}");
    }
}

#[test]
fn debug_output_shows_no_values() {
    let mut c = site();
    c.set("fs.s3a.secret.key", "VERY-SECRET-VALUE");
    let text = format!("{c:?}");
    assert!(
        !text.contains("VERY-SECRET-VALUE") && !text.contains("rm.example.com"),
        "{text}"
    );
    assert!(text.contains("core-site.xml"), "{text}");
}
