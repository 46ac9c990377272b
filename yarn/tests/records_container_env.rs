//! A container's identity and directories from the environment a NodeManager sets.

use std::collections::HashMap;
use std::path::PathBuf;

use yarn::credentials::AMRM_TOKEN_KIND;
use yarn::records::{ContainerEnv, ContainerEnvError, NodeId};

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn an_am_container_learns_its_attempt_and_token_file() {
    let token_file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/credentials/amrm-writable.token");
    let env = ContainerEnv::from_vars(vars(&[
        ("CONTAINER_ID", "container_e02_1700000000000_0001_01_000001"),
        ("NM_HOST", "worker-1"),
        ("NM_PORT", "45454"),
        ("NM_HTTP_PORT", "8042"),
        (
            "LOCAL_DIRS",
            "/d1/usercache/u/appcache/a,/d2/usercache/u/appcache/a",
        ),
        ("LOG_DIRS", "/logs/a/c"),
        ("USER", "u"),
        ("HADOOP_TOKEN_FILE_LOCATION", token_file.to_str().unwrap()),
        (
            "APPLICATION_WEB_PROXY_BASE",
            "/proxy/application_1700000000000_0001",
        ),
        ("APP_SUBMIT_TIME_ENV", "1700000000123"),
    ]))
    .unwrap();
    assert_eq!(
        env.application_attempt_id().to_string(),
        "appattempt_1700000000000_0001_000001"
    );
    assert_eq!(env.container_id.epoch(), 2);
    assert_eq!(env.node_id, NodeId::new("worker-1", 45454));
    assert_eq!(env.nm_http_port, Some(8042));
    assert_eq!(env.local_dirs.len(), 2);
    assert_eq!(env.log_dirs, [PathBuf::from("/logs/a/c")]);
    assert_eq!(env.app_submit_time_ms, Some(1700000000123));
    let creds = env.credentials().unwrap();
    assert_eq!(creds.amrm_token().unwrap().kind, AMRM_TOKEN_KIND);
}

#[test]
fn missing_or_bad_variables_are_named() {
    assert_eq!(
        ContainerEnv::from_vars(vars(&[])).unwrap_err(),
        ContainerEnvError::Missing("CONTAINER_ID")
    );
    let e = ContainerEnv::from_vars(vars(&[
        ("CONTAINER_ID", "container_1_2_3_4"),
        ("NM_HOST", "h"),
    ]))
    .unwrap_err();
    assert_eq!(e, ContainerEnvError::Missing("NM_PORT"));
    let e = ContainerEnv::from_vars(vars(&[
        ("CONTAINER_ID", "c_1"),
        ("NM_HOST", "h"),
        ("NM_PORT", "1"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("CONTAINER_ID=\"c_1\": invalid container id"),
        "{e}"
    );
    let e = ContainerEnv::from_vars(vars(&[
        ("CONTAINER_ID", "container_1_2_3_4"),
        ("NM_HOST", "h"),
        ("NM_PORT", "x"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(e.contains("NM_PORT=\"x\""), "{e}");
    // Without a token file the credentials are empty.
    let env = ContainerEnv::from_vars(vars(&[
        ("CONTAINER_ID", "container_1_2_3_4"),
        ("NM_HOST", "h"),
        ("NM_PORT", "1"),
    ]))
    .unwrap();
    assert!(env.credentials().unwrap().is_empty());
}
