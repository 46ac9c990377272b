//! The YARN driver against a scripted ResourceManager and NodeManager: one priority per worker
//! spec, surplus containers released and never launched, asks withdrawn on cancel, completed
//! containers classified, the heartbeat pace following the asks, previous-attempt containers
//! recovered, fatal errors and unregistration.

mod am_fake_yarn;

use std::collections::BTreeMap;
use std::time::Duration;

use am_fake_yarn::FakeYarn;
use spindle::resource_manager::driver::{
    ApplicationStatus, DriverEvent, DriverEventSink, ResourceManagerDriver,
};
use spindle::resource_manager::types::{ContainerResource, Resources, WorkerId, WorkerSpec};
use spindle::rpc::Secret;
use spindle::yarn_driver::{
    DriverMonitor, StagedFile, TaskExecutorLaunch, YarnDriver, YarnDriverConfig,
};
use tokio::sync::mpsc;
use yarn::credentials::Credentials;
use yarn::nm::NmClient;
use yarn::proto::hadoop::yarn::FinalApplicationStatusProto;
use yarn::records::Resource;

const MIB: u64 = 1 << 20;
const CONFIG: YarnDriverConfig = YarnDriverConfig {
    request_heartbeat: Duration::from_millis(20),
    heartbeat: Duration::from_millis(150),
};

fn spec(memory_mb: u64, slots: u32) -> WorkerSpec {
    WorkerSpec {
        total: Resources::new(1000 * u64::from(slots), (memory_mb / 2) * MIB),
        num_slots: slots,
        container: ContainerResource {
            memory_mb,
            vcores: slots,
        },
    }
}

struct Sink(mpsc::UnboundedSender<DriverEvent>);

impl DriverEventSink for Sink {
    fn send(&self, event: DriverEvent) {
        let _ = self.0.send(event);
    }
}

fn launch() -> TaskExecutorLaunch {
    TaskExecutorLaunch {
        binary: StagedFile::parse("hdfs://nn:8020/user/a/.spindle/app/spindle|4096|1700000000001")
            .unwrap(),
        conf: StagedFile::parse("hdfs://nn:8020/user/a/.spindle/app/spindle-conf.yaml|10|17")
            .unwrap(),
        am_address: "am-host:4242".into(),
        secret: Secret::new(b"0123456789abcdef-the-app-secret".to_vec()).unwrap(),
        environment: BTreeMap::from([("RUST_LOG".to_owned(), "info".to_owned())]),
        ship: vec![(
            "lib/data.txt".to_owned(),
            StagedFile::parse("hdfs://nn:8020/user/a/.spindle/app/lib/data.txt|7|1700000000002")
                .unwrap(),
        )],
    }
}

async fn start(
    fake: &FakeYarn,
) -> (
    YarnDriver,
    DriverMonitor,
    mpsc::UnboundedReceiver<DriverEvent>,
) {
    let mut am = fake.am_client();
    let registration = am
        .register("am-host", 8081, "http://am-host:8081/")
        .await
        .unwrap();
    let (mut driver, monitor) =
        YarnDriver::new(am, registration, NmClient::new(vec![]), launch(), CONFIG);
    let (tx, rx) = mpsc::unbounded_channel();
    driver.initialize(Box::new(Sink(tx)));
    (driver, monitor, rx)
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<DriverEvent>) -> DriverEvent {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("no driver event")
        .expect("the driver's sink was dropped")
}

fn worker(id: &str) -> WorkerId {
    WorkerId::new(id)
}

#[tokio::test]
async fn one_priority_per_spec_surplus_never_launched_asks_withdrawn_causes_classified() {
    let fake = FakeYarn::start(Resource::new(8192, 8)).await;
    let (mut driver, mut monitor, mut events) = start(&fake).await;
    let (small, large, huge) = (spec(1024, 1), spec(2048, 2), spec(16384, 1));

    // Nothing asked: the slow heartbeat.
    let status = monitor
        .status
        .wait_for(|s| s.allocate_calls >= 1)
        .await
        .unwrap()
        .clone();
    assert_eq!(status.interval, CONFIG.heartbeat);

    driver.request_worker(&small);
    driver.request_worker(&small);
    driver.request_worker(&large);
    fake.wait_for("asks of 2 at priority 1 and 1 at priority 2", |s| {
        s.last_ask(1) == Some(2) && s.last_ask(2) == Some(1)
    })
    .await;
    let status = monitor
        .status
        .wait_for(|s| s.pending_asks == 3 && s.allocate_calls >= 2)
        .await
        .unwrap()
        .clone();
    assert_eq!(
        status.interval, CONFIG.request_heartbeat,
        "fast while asks are pending"
    );
    assert_eq!(status.priorities, vec![(small, 1), (large, 2)]);

    // YARN hands out one container too many at priority 1.
    let small_ids = fake.grant(1, 3, Resource::new(1024, 1));
    let large_ids = fake.grant(2, 1, Resource::new(2048, 2));
    let surplus = small_ids[2].clone();
    let mut allocated = Vec::new();
    let mut started = Vec::new();
    let mut returned = Vec::new();
    while allocated.len() < 3 || started.len() < 3 || returned.is_empty() {
        match next_event(&mut events).await {
            DriverEvent::WorkerAllocated { worker, spec } => allocated.push((worker, spec)),
            DriverEvent::WorkerStarted { worker } => started.push(worker),
            DriverEvent::SurplusReturned { worker } => returned.push(worker),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        returned,
        vec![worker(&surplus)],
        "the surplus container is reported for the decision log"
    );
    allocated.sort();
    let mut expected = vec![
        (worker(&small_ids[0]), small),
        (worker(&small_ids[1]), small),
        (worker(&large_ids[0]), large),
    ];
    expected.sort();
    assert_eq!(allocated, expected, "matched by priority");
    fake.wait_for("the surplus container released", |s| {
        s.released().contains(&surplus)
    })
    .await;
    let mut launched = vec![
        small_ids[0].clone(),
        small_ids[1].clone(),
        large_ids[0].clone(),
    ];
    launched.sort();
    assert_eq!(
        fake.state.lock().unwrap().started_ids(),
        launched,
        "surplus never launched"
    );
    let status = monitor
        .status
        .wait_for(|s| s.pending_asks == 0 && s.surplus_released == 1)
        .await
        .unwrap()
        .clone();
    assert_eq!(
        status.interval, CONFIG.heartbeat,
        "slow once nothing is pending"
    );
    assert_eq!(status.containers, 3);

    // The launch context: staged files, the command, the secret only in the tokens.
    {
        let state = fake.state.lock().unwrap();
        let (_, context) = state
            .started
            .iter()
            .find(|(id, _)| *id == large_ids[0])
            .unwrap();
        let command = context.command.join(" ");
        assert!(
            command.starts_with(
                "./spindle taskmanager --am-address am-host:4242 --slots 2 --memory-mb 1024 --cpu-cores 2.000"
            ),
            "{command}"
        );
        assert!(command.ends_with("1><LOG_DIR>/taskmanager.out 2><LOG_DIR>/taskmanager.err"));
        let links: Vec<&str> = context
            .local_resources
            .iter()
            .filter_map(|r| r.key.as_deref())
            .collect();
        assert_eq!(links, ["lib/data.txt", "spindle", "spindle-conf.yaml"]);
        let binary = context.local_resources[1].value.as_ref().unwrap();
        assert_eq!(
            (binary.size, binary.timestamp),
            (Some(4096), Some(1_700_000_000_001))
        );
        let credentials = Credentials::from_bytes(context.tokens.as_deref().unwrap()).unwrap();
        assert_eq!(
            credentials.secret("spindle.secret"),
            Some(&b"0123456789abcdef-the-app-secret"[..])
        );
        let secret_hex = hex::encode(b"0123456789abcdef-the-app-secret");
        for text in context
            .environment
            .iter()
            .flat_map(|e| [e.key.clone(), e.value.clone()])
            .flatten()
            .chain(context.command.iter().cloned())
        {
            assert!(!text.contains("the-app-secret") && !text.contains(&secret_hex));
        }
    }

    // A request withdrawn before YARN grants it.
    let medium = spec(1536, 1);
    driver.request_worker(&medium);
    fake.wait_for("the ask at priority 3", |s| s.last_ask(3) == Some(1))
        .await;
    driver.cancel_request(&medium);
    fake.wait_for("the ask at priority 3 withdrawn", |s| {
        s.last_ask(3) == Some(0)
    })
    .await;
    assert_eq!(fake.state.lock().unwrap().ask_history(3), [1, 0]);
    monitor
        .status
        .wait_for(|s| s.pending_asks == 0)
        .await
        .unwrap();

    // Completed containers, classified; the surplus one's completion is nobody's business.
    fake.complete(&surplus, -100, "Container released by the application");
    fake.complete(
        &large_ids[0],
        -104,
        "Container killed on request. Exit code is 137",
    );
    fake.complete(&small_ids[0], -102, "");
    let mut causes = BTreeMap::new();
    while causes.len() < 2 {
        match next_event(&mut events).await {
            DriverEvent::WorkerTerminated { worker, cause } => {
                causes.insert(worker.0.to_string(), cause);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let memory = &causes[&large_ids[0]];
    assert!(memory.contains("physical memory limit"), "{memory}");
    assert!(memory.ends_with("Diagnostics: Container killed on request. Exit code is 137"));
    assert!(causes[&small_ids[0]].contains("preempted"), "{causes:?}");
    assert!(!causes.contains_key(&surplus));

    // A release stops the container and gives it back.
    driver.release_worker(&worker(&small_ids[1]));
    fake.wait_for("the released container stopped and released", |s| {
        s.stopped.contains(&small_ids[1]) && s.released().contains(&small_ids[1])
    })
    .await;

    // Larger than the cluster's maximum: refused without asking.
    driver.request_worker(&huge);
    match next_event(&mut events).await {
        DriverEvent::WorkerRequestFailed { spec, cause } => {
            assert_eq!(spec, huge);
            assert!(
                cause.contains("larger than the largest container"),
                "{cause}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let calls = monitor.status.borrow().allocate_calls;
    let status = monitor
        .status
        .wait_for(|s| s.allocate_calls > calls)
        .await
        .unwrap()
        .clone();
    assert!(status.priorities.iter().all(|(s, _)| *s != huge));
    assert_eq!(fake.state.lock().unwrap().last_ask(4), None);

    driver.deregister_application(ApplicationStatus::Succeeded, "session stopped");
    driver.terminate();
    assert_eq!(monitor.done.await.unwrap(), Ok(()));
    let state = fake.state.lock().unwrap();
    let finished = state.finished.as_ref().unwrap();
    assert_eq!(
        finished.final_application_status,
        Some(FinalApplicationStatusProto::AppSucceeded as i32)
    );
    assert_eq!(finished.diagnostics.as_deref(), Some("session stopped"));
    assert_eq!(state.registrations[0].rpc_port, Some(8081));
    drop(events);
}

#[tokio::test]
async fn shutdown_request_is_fatal_and_unregisters_failed() {
    let fake = FakeYarn::start(Resource::new(8192, 8)).await;
    fake.state.lock().unwrap().shutdown = true;
    let (mut driver, monitor, mut events) = start(&fake).await;
    match next_event(&mut events).await {
        DriverEvent::FatalError { message } => {
            assert!(message.contains("shutdown request"), "{message}")
        }
        other => panic!("unexpected {other:?}"),
    }
    // What the ResourceManager does after a fatal error: stop the driver without unregistering.
    driver.terminate();
    let outcome = monitor.done.await.unwrap();
    assert!(outcome.unwrap_err().contains("shutdown request"));
    let state = fake.state.lock().unwrap();
    assert_eq!(
        state.finished.as_ref().unwrap().final_application_status,
        Some(FinalApplicationStatusProto::AppFailed as i32)
    );
}

#[tokio::test]
async fn previous_attempt_containers_are_recovered_and_releasable() {
    let fake = FakeYarn::start(Resource::new(8192, 8)).await;
    let previous = fake.container(1, Resource::new(1024, 1));
    let id = yarn::records::ContainerId::try_from(previous.id.as_ref().unwrap())
        .unwrap()
        .to_string();
    fake.state.lock().unwrap().previous = vec![previous];
    let (mut driver, mut monitor, mut events) = start(&fake).await;
    assert_eq!(
        next_event(&mut events).await,
        DriverEvent::PreviousAttemptWorkersRecovered {
            workers: vec![worker(&id)]
        }
    );
    // Its NodeManager token came with the registration, so it can be stopped.
    driver.release_worker(&worker(&id));
    fake.wait_for("the recovered container stopped", |s| {
        s.stopped.contains(&id) && s.released().contains(&id)
    })
    .await;
    monitor
        .status
        .wait_for(|s| s.containers == 0)
        .await
        .unwrap();
}

#[tokio::test]
async fn failed_launch_terminates_the_worker_and_releases_the_container() {
    let fake = FakeYarn::start(Resource::new(8192, 8)).await;
    let (mut driver, _monitor, mut events) = start(&fake).await;
    let small = spec(1024, 1);
    driver.request_worker(&small);
    fake.wait_for("the ask", |s| s.last_ask(1) == Some(1)).await;
    let ids = fake.grant(1, 1, Resource::new(1024, 1));
    fake.state.lock().unwrap().fail_start.insert(ids[0].clone());
    assert_eq!(
        next_event(&mut events).await,
        DriverEvent::WorkerAllocated {
            worker: worker(&ids[0]),
            spec: small
        }
    );
    match next_event(&mut events).await {
        DriverEvent::WorkerTerminated { worker: w, cause } => {
            assert_eq!(w, worker(&ids[0]));
            assert!(cause.contains("localization failed"), "{cause}");
        }
        other => panic!("unexpected {other:?}"),
    }
    fake.wait_for("the unstartable container released", |s| {
        s.released().contains(&ids[0])
    })
    .await;
}
