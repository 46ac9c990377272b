//! The docker compose cluster's Hadoop configuration (`yarn/docker/hadoop-conf/`), read the way the
//! spindle CLI and ApplicationMaster read `$HADOOP_CONF_DIR` there: every address names a host of
//! the compose network, and the scheduler's limits leave room for sessions and per-job applications.
//! (No Docker here: scripts/it-docker.sh runs the cluster itself.)

use std::path::{Path, PathBuf};

use spindle::cli::session::Environment;
use yarn::conf::{Configuration, RmService};

fn conf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("yarn/docker/hadoop-conf")
}

fn compose_conf() -> Configuration {
    Configuration::load_from_dirs(Some(&conf_dir()), None).expect("the compose configuration loads")
}

#[test]
fn the_cli_finds_the_resourcemanager_and_webhdfs_by_compose_host_names() {
    let env = Environment::from_hadoop_conf(&compose_conf(), "spindle").unwrap();
    assert_eq!(env.rm_web, ["http://resourcemanager:8088"]);
    assert_eq!(env.webhdfs, ["http://namenode:9870"]);
    assert_eq!(env.default_fs.as_deref(), Some("hdfs://namenode:8020"));
    assert_eq!(
        env.staging_dir("application_1_0001"),
        "/user/spindle/.spindle/application_1_0001"
    );
}

#[test]
fn the_application_master_finds_the_scheduler() {
    let conf = compose_conf();
    assert_eq!(
        conf.rm_address(RmService::Scheduler).unwrap().to_string(),
        "resourcemanager:8030"
    );
    assert!(yarn::amrm::protection_levels(&conf).is_ok());
}

#[test]
fn two_nodes_fit_a_session_and_per_job_applications() {
    let conf = compose_conf();
    let min = conf.scheduler_minimum_allocation().unwrap();
    let max = conf.scheduler_maximum_allocation().unwrap();
    let node = conf.node_manager_resource().unwrap();
    // A 256 MB ApplicationMaster is not rounded up to a gigabyte.
    assert!(
        min.memory_mb <= 256,
        "minimum allocation {} MB",
        min.memory_mb
    );
    assert!(max.memory_mb <= node.memory_mb && max.vcores <= node.vcores);
    // Two 1 GB TaskManagers and their AM fit on one node, so a session deploys even with one node.
    assert!(node.memory_mb >= 256 + 2 * 1024);
    assert!(
        !conf
            .get_bool("yarn.nodemanager.vmem-check-enabled", true)
            .unwrap()
    );
    assert!(conf.get_bool("yarn.log-aggregation-enable", false).unwrap());
    assert!(
        conf.get_bool("yarn.webapp.enable-rest-app-submissions", true)
            .unwrap()
    );
}

#[test]
fn the_am_share_leaves_room_for_several_applications() {
    let mut conf = compose_conf();
    conf.add_resource_file(conf_dir().join("capacity-scheduler.xml"))
        .unwrap();
    let share: f64 = conf
        .get("yarn.scheduler.capacity.maximum-am-resource-percent")
        .unwrap()
        .expect("set")
        .parse()
        .unwrap();
    // Hadoop's default 0.1 of this 8 GB cluster (two NodeManagers) admits about three 256 MB AMs.
    let node = conf.node_manager_resource().unwrap();
    let am_room_mb = share * (2 * node.memory_mb) as f64;
    assert!(am_room_mb >= 8.0 * 256.0, "{am_room_mb} MB for AMs");
}
