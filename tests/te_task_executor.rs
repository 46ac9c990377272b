//! A real TaskExecutor against an ApplicationMaster endpoint played by the test: registration,
//! heartbeats with slot reports, slot requests and offers, task processes (finished, failed,
//! canceled), freeing slots, and exiting when the ApplicationMaster goes away.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use spindle::rpc::{
    AllocationId, JobId, ResourceId, Resources, Secret, ServerConfig, ServerEvent, SlotId,
    SlotReport, TaskDeployment, TaskExecutorHandle, TaskExecutorServer, TaskState, ToAm, ToTe,
};
use spindle::task_executor::{self, TaskExecutorConfig, TaskExecutorError, task_log_paths};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Guards against a hang; not an assertion about speed.
const GUARD: Duration = Duration::from_secs(30);

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, f)
        .await
        .expect("no progress within the guard time")
}

const RESOURCE_ID: &str = "container_1700000000000_0001_01_000002";
const GIB: u64 = 1 << 30;
/// The default slot of the TaskExecutor under test (2 slots, 2 cores, 2 GiB).
const DEFAULT_SLOT: Resources = Resources::new(1000, GIB);

/// The ApplicationMaster side, played by the test.
struct Am {
    server: TaskExecutorServer,
    events: mpsc::Receiver<ServerEvent>,
}

impl Am {
    async fn start(secret: &Secret) -> Am {
        let (tx, events) = mpsc::channel(256);
        let server = TaskExecutorServer::bind("127.0.0.1:0", ServerConfig::new(secret.clone()), tx)
            .await
            .unwrap();
        Am { server, events }
    }

    async fn connected(&mut self) -> TaskExecutorHandle {
        match within(self.events.recv()).await.unwrap() {
            ServerEvent::Connected { handle } => handle,
            other => panic!("expected a connection, got {other:?}"),
        }
    }

    async fn message(&mut self) -> ToAm {
        match within(self.events.recv()).await.unwrap() {
            ServerEvent::Message { message, .. } => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The next message that is not a heartbeat.
    async fn reply(&mut self) -> ToAm {
        loop {
            match self.message().await {
                ToAm::Heartbeat { .. } => continue,
                other => return other,
            }
        }
    }

    async fn heartbeat(&mut self) -> SlotReport {
        loop {
            if let ToAm::Heartbeat { slot_report } = self.message().await {
                return slot_report;
            }
        }
    }

    /// Accepts the TaskExecutor's registration with a fast heartbeat. The test AM answers
    /// heartbeats only when it reads them, so tests that are not about timeouts grant a long one.
    async fn register(&mut self, heartbeat_timeout_ms: u64) -> (TaskExecutorHandle, ToAm) {
        self.register_with(20, heartbeat_timeout_ms).await
    }

    async fn register_with(
        &mut self,
        heartbeat_interval_ms: u64,
        heartbeat_timeout_ms: u64,
    ) -> (TaskExecutorHandle, ToAm) {
        let handle = self.connected().await;
        let registration = self.message().await;
        handle
            .send(ToTe::RegistrationAccepted {
                instance_id: "instance-1".into(),
                heartbeat_interval_ms,
                heartbeat_timeout_ms,
            })
            .unwrap();
        (handle, registration)
    }
}

fn start_te(am: &Am, secret: &Secret, log_dir: &Path) -> JoinHandle<Result<(), TaskExecutorError>> {
    let mut config = TaskExecutorConfig::new(
        am.server.local_addr().to_string(),
        ResourceId::from(RESOURCE_ID),
        "node1.example.com",
        2,
        Resources::new(2000, 2 * GIB),
        log_dir.to_path_buf(),
        secret.clone(),
    );
    config.registration_backoff.initial = Duration::from_millis(20);
    config.registration_backoff.max = Duration::from_millis(100);
    config.cancel_grace_period = Duration::from_millis(300);
    tokio::spawn(task_executor::run(config))
}

fn secret() -> Secret {
    Secret::new(b"per-application secret".to_vec()).unwrap()
}

fn slot(index: u32) -> SlotId {
    SlotId {
        resource_id: RESOURCE_ID.into(),
        slot_index: index,
    }
}

fn request_slot(handle: &TaskExecutorHandle, index: u32, allocation: &str) {
    handle
        .send(ToTe::RequestSlot {
            slot_index: Some(index),
            allocation_id: allocation.into(),
            job_id: "job-1".into(),
            resources: DEFAULT_SLOT,
        })
        .unwrap();
}

fn deployment(id: &str, allocation: &str, subtask: u32, script: &str) -> TaskDeployment {
    TaskDeployment {
        execution_attempt_id: id.into(),
        allocation_id: allocation.into(),
        job_id: "job-1".into(),
        vertex_name: "Map (words)".into(),
        subtask_index: subtask,
        parallelism: 4,
        attempt_number: 0,
        argv: vec!["sh".into(), "-c".into(), script.into()],
        env: BTreeMap::from([("GREETING".to_string(), "hello".to_string())]),
    }
}

/// The next task state update, skipping heartbeats.
async fn task_update(am: &mut Am) -> (String, TaskState, Option<i32>, Option<String>) {
    match am.reply().await {
        ToAm::TaskStateUpdate {
            execution_attempt_id,
            state,
            exit_code,
            error,
        } => (execution_attempt_id.0, state, exit_code, error),
        other => panic!("expected a task state update, got {other:?}"),
    }
}

/// Allocates slot `index` to `allocation` and checks the ack and the offer.
async fn allocate(am: &mut Am, handle: &TaskExecutorHandle, index: u32, allocation: &str) {
    request_slot(handle, index, allocation);
    assert_eq!(
        am.reply().await,
        ToAm::SlotRequestAck {
            allocation_id: allocation.into()
        }
    );
    match am.reply().await {
        ToAm::OfferSlots { job_id, offers } => {
            assert_eq!(job_id, JobId::from("job-1"));
            assert_eq!(offers.len(), 1);
            assert_eq!(offers[0].allocation_id, AllocationId::from(allocation));
            assert_eq!(offers[0].slot_index, index);
            assert_eq!(offers[0].resources, DEFAULT_SLOT);
        }
        other => panic!("expected a slot offer, got {other:?}"),
    }
}

/// Waits until everything the TaskExecutor received so far has been handled: a request for a slot
/// that does not exist is answered in order, after all earlier commands.
async fn sync(am: &mut Am, handle: &TaskExecutorHandle) {
    request_slot(handle, 99, "probe");
    match am.reply().await {
        ToAm::SlotRequestFailed {
            allocation_id,
            reason,
        } => {
            assert_eq!(allocation_id, AllocationId::from("probe"));
            assert!(reason.contains("does not exist"), "{reason}");
        }
        other => panic!("expected the probe to fail, got {other:?}"),
    }
}

#[tokio::test]
async fn te_registers_and_heartbeats_carry_the_slot_report() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret).await;
    let te = start_te(&am, &secret, dir.path());

    let (handle, registration) = am.register(60_000).await;
    assert_eq!(handle.resource_id().0, RESOURCE_ID);
    let ToAm::Register(registration) = registration else {
        panic!("expected a registration, got {registration:?}");
    };
    assert_eq!(registration.resource_id.0, RESOURCE_ID);
    assert_eq!(registration.host, "node1.example.com");
    assert_eq!(registration.number_of_slots, 2);
    assert_eq!(registration.total_resources, Resources::new(2000, 2 * GIB));
    assert_eq!(registration.default_slot_resources, DEFAULT_SLOT);
    assert_eq!(registration.slot_report.slots.len(), 2);

    for _ in 0..3 {
        let report = am.heartbeat().await;
        let ids: Vec<_> = report.slots.iter().map(|s| s.slot_id.clone()).collect();
        assert_eq!(ids, vec![slot(0), slot(1)]);
        assert!(report.slots.iter().all(|s| s.allocation.is_none()));
        handle.send(ToTe::HeartbeatReply).unwrap();
    }
    te.abort();
}

#[tokio::test]
async fn te_answers_a_heartbeat_request_at_once() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret).await;
    let te = start_te(&am, &secret, dir.path());
    // Periodic heartbeats far apart: the one that comes is the answer to the request.
    let (handle, _) = am.register_with(3_600_000, 7_200_000).await;
    handle.send(ToTe::HeartbeatRequest).unwrap();
    let report = am.heartbeat().await;
    assert_eq!(report.slots.len(), 2);
    assert_eq!(report.slots[1].slot_id, slot(1));
    assert_eq!(report.slots[1].resources, DEFAULT_SLOT);
    te.abort();
}

#[tokio::test]
async fn te_request_slot_is_acked_and_offered_and_free_slot_shows_in_the_next_report() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret).await;
    let te = start_te(&am, &secret, dir.path());
    let (handle, _) = am.register(60_000).await;

    allocate(&mut am, &handle, 1, "alloc-1").await;
    let report = am.heartbeat().await;
    assert_eq!(report.slots[0].allocation, None);
    let owner = report.slots[1]
        .allocation
        .as_ref()
        .expect("slot 1 allocated");
    assert_eq!(owner.allocation_id, AllocationId::from("alloc-1"));
    assert_eq!(owner.job_id, JobId::from("job-1"));

    // The same slot for another allocation is refused; repeating the same request is fine.
    request_slot(&handle, 1, "alloc-2");
    match am.reply().await {
        ToAm::SlotRequestFailed {
            allocation_id,
            reason,
        } => {
            assert_eq!(allocation_id, AllocationId::from("alloc-2"));
            assert!(reason.contains("already allocated"), "{reason}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // A dynamic slot of exactly the asked resources, numbered after the static slots.
    let half = Resources::new(500, GIB / 2);
    handle
        .send(ToTe::RequestSlot {
            slot_index: None,
            allocation_id: "dyn-1".into(),
            job_id: "job-1".into(),
            resources: half,
        })
        .unwrap();
    assert!(matches!(am.reply().await, ToAm::SlotRequestAck { .. }));
    match am.reply().await {
        ToAm::OfferSlots { offers, .. } => {
            assert_eq!((offers[0].slot_index, offers[0].resources), (2, half))
        }
        other => panic!("expected a slot offer, got {other:?}"),
    }
    // Half a slot is left: the other static slot no longer fits.
    request_slot(&handle, 0, "alloc-0");
    match am.reply().await {
        ToAm::SlotRequestFailed { reason, .. } => {
            assert!(reason.contains("not enough free resources"), "{reason}")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    handle
        .send(ToTe::FreeInactiveSlots {
            job_id: "job-1".into(),
        })
        .unwrap();
    // Both slots of the job are inactive (no task was deployed).
    let mut freed = vec![am.reply().await, am.reply().await];
    freed.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(
        freed,
        vec![
            ToAm::SlotAvailable {
                allocation_id: "alloc-1".into(),
                slot_index: 1
            },
            ToAm::SlotAvailable {
                allocation_id: "dyn-1".into(),
                slot_index: 2
            },
        ]
    );
    sync(&mut am, &handle).await;
    let report = am.heartbeat().await;
    assert_eq!(report.slots.len(), 2, "{report:?}");
    assert!(
        report.slots.iter().all(|s| s.allocation.is_none()),
        "{report:?}"
    );

    allocate(&mut am, &handle, 1, "alloc-1").await;
    handle
        .send(ToTe::FreeSlot {
            allocation_id: "alloc-1".into(),
            cause: "job finished".into(),
        })
        .unwrap();
    assert_eq!(
        am.reply().await,
        ToAm::SlotAvailable {
            allocation_id: "alloc-1".into(),
            slot_index: 1
        }
    );
    sync(&mut am, &handle).await;
    let report = am.heartbeat().await;
    assert!(
        report.slots.iter().all(|s| s.allocation.is_none()),
        "{report:?}"
    );
    te.abort();
}

#[tokio::test]
async fn te_runs_a_task_to_finished_with_its_output_in_the_log_dir() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret).await;
    let te = start_te(&am, &secret, dir.path());
    let (handle, _) = am.register(60_000).await;
    allocate(&mut am, &handle, 0, "alloc-1").await;

    let task = deployment(
        "attempt-1",
        "alloc-1",
        3,
        "echo $SPINDLE_SUBTASK_INDEX; echo $SPINDLE_JOB_ID $SPINDLE_VERTEX $SPINDLE_PARALLELISM $SPINDLE_ATTEMPT $GREETING; exit 0",
    );
    handle.send(ToTe::DeployTask(task.clone())).unwrap();
    assert_eq!(
        task_update(&mut am).await,
        ("attempt-1".into(), TaskState::Running, None, None)
    );
    assert_eq!(
        task_update(&mut am).await,
        ("attempt-1".into(), TaskState::Finished, Some(0), None)
    );
    let (out, err) = task_log_paths(dir.path(), &task);
    assert!(
        out.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Map__words_-3-0-attempt-1")
    );
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        "3\njob-1 Map (words) 4 0 hello\n"
    );
    assert_eq!(std::fs::read_to_string(err).unwrap(), "");

    // The slot stays allocated to the job after its task finished, until the job frees it.
    let report = am.heartbeat().await;
    assert!(report.slots[0].allocation.is_some());
    te.abort();
}

#[tokio::test]
async fn te_reports_a_failing_task_with_exit_code_and_stderr_tail() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret).await;
    let te = start_te(&am, &secret, dir.path());
    let (handle, _) = am.register(60_000).await;
    allocate(&mut am, &handle, 0, "alloc-1").await;

    handle
        .send(ToTe::DeployTask(deployment(
            "attempt-1",
            "alloc-1",
            0,
            "echo starting; echo 'java.lang.Nothing: input file missing' >&2; exit 3",
        )))
        .unwrap();
    assert_eq!(task_update(&mut am).await.1, TaskState::Running);
    let (id, state, exit_code, error) = task_update(&mut am).await;
    assert_eq!(
        (id.as_str(), state, exit_code),
        ("attempt-1", TaskState::Failed, Some(3))
    );
    let error = error.expect("an error text");
    assert!(error.contains("exited with code 3"), "{error}");
    assert!(error.contains("input file missing"), "{error}");
    assert!(
        !error.contains("starting"),
        "stdout is not part of the error: {error}"
    );

    // A task for a slot this TaskExecutor does not hold is refused as failed, with the reason.
    handle
        .send(ToTe::DeployTask(deployment(
            "attempt-2",
            "alloc-unknown",
            1,
            "exit 0",
        )))
        .unwrap();
    let (id, state, _, error) = task_update(&mut am).await;
    assert_eq!((id.as_str(), state), ("attempt-2", TaskState::Failed));
    assert!(
        error
            .unwrap()
            .contains("no slot is allocated to alloc-unknown")
    );
    te.abort();
}

#[tokio::test]
async fn te_cancels_tasks_even_when_they_ignore_sigterm_and_freeing_a_busy_slot_cancels_its_task() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret).await;
    let te = start_te(&am, &secret, dir.path());
    let (handle, _) = am.register(60_000).await;
    allocate(&mut am, &handle, 0, "alloc-1").await;
    allocate(&mut am, &handle, 1, "alloc-2").await;

    // Ignores SIGTERM (and so does its sleep, which inherits that): needs the SIGKILL.
    handle
        .send(ToTe::DeployTask(deployment(
            "stubborn",
            "alloc-1",
            0,
            "trap '' TERM; while true; do sleep 1; done",
        )))
        .unwrap();
    assert_eq!(task_update(&mut am).await.1, TaskState::Running);
    handle
        .send(ToTe::CancelTask {
            execution_attempt_id: "stubborn".into(),
        })
        .unwrap();
    assert_eq!(
        task_update(&mut am).await,
        ("stubborn".into(), TaskState::Canceled, None, None)
    );

    handle
        .send(ToTe::DeployTask(deployment(
            "sleeper", "alloc-2", 1, "sleep 60",
        )))
        .unwrap();
    assert_eq!(task_update(&mut am).await.1, TaskState::Running);
    handle
        .send(ToTe::FreeSlot {
            allocation_id: "alloc-2".into(),
            cause: "job canceled".into(),
        })
        .unwrap();
    assert_eq!(
        task_update(&mut am).await,
        ("sleeper".into(), TaskState::Canceled, None, None)
    );
    assert_eq!(
        am.reply().await,
        ToAm::SlotAvailable {
            allocation_id: "alloc-2".into(),
            slot_index: 1
        }
    );
    sync(&mut am, &handle).await;
    let report = am.heartbeat().await;
    assert!(report.slots[0].allocation.is_some(), "slot 0 was not freed");
    assert!(report.slots[1].allocation.is_none(), "{report:?}");
    te.abort();
}

#[tokio::test]
async fn te_exits_with_an_error_when_the_am_is_gone_longer_than_the_heartbeat_timeout() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret).await;
    let te = start_te(&am, &secret, dir.path());
    let (handle, _) = am.register(300).await;
    am.heartbeat().await;

    // The ApplicationMaster goes away: no listener, no connection.
    drop(handle);
    drop(am);
    let result = within(te).await.unwrap();
    match result {
        Err(TaskExecutorError::AmUnreachable { timeout, .. }) => {
            assert_eq!(timeout, Duration::from_millis(300))
        }
        other => panic!("expected the TaskExecutor to give up, got {other:?}"),
    }
}

#[tokio::test]
async fn te_reconnects_and_registers_again_keeping_its_slots() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret).await;
    let te = start_te(&am, &secret, dir.path());
    let (handle, _) = am.register(60_000).await;
    allocate(&mut am, &handle, 1, "alloc-1").await;

    handle.disconnect("ApplicationMaster failover").unwrap();
    let (_handle, registration) = loop {
        match within(am.events.recv()).await.unwrap() {
            ServerEvent::Disconnected { .. } | ServerEvent::Message { .. } => continue,
            ServerEvent::Connected { handle } => {
                let registration = am.message().await;
                break (handle, registration);
            }
        }
    };
    let ToAm::Register(registration) = registration else {
        panic!("expected a registration, got {registration:?}");
    };
    let owner = registration.slot_report.slots[1].allocation.as_ref();
    assert_eq!(owner.unwrap().allocation_id, AllocationId::from("alloc-1"));
    te.abort();
}

#[tokio::test]
async fn te_with_the_wrong_secret_never_registers() {
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret()).await;
    let mut config = TaskExecutorConfig::new(
        am.server.local_addr().to_string(),
        ResourceId::from(RESOURCE_ID),
        "node1",
        1,
        DEFAULT_SLOT,
        dir.path().to_path_buf(),
        Secret::new(b"not the application's".to_vec()).unwrap(),
    );
    config.registration_backoff.initial = Duration::from_millis(10);
    config.registration_timeout = Duration::from_millis(500);
    assert!(!format!("{config:?}").contains("not the application"));
    let result = within(task_executor::run(config)).await;
    assert!(
        matches!(result, Err(TaskExecutorError::RegistrationTimeout { .. })),
        "{result:?}"
    );
    // The AM never saw an authenticated connection.
    while let Ok(event) = am.events.try_recv() {
        assert!(!matches!(event, ServerEvent::Connected { .. }), "{event:?}");
    }
}

#[tokio::test]
async fn te_exits_when_its_registration_is_refused_and_retries_when_declined() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    let mut am = Am::start(&secret).await;
    let mut config = TaskExecutorConfig::new(
        am.server.local_addr().to_string(),
        ResourceId::from(RESOURCE_ID),
        "node1",
        1,
        DEFAULT_SLOT,
        dir.path().to_path_buf(),
        secret.clone(),
    );
    config.registration_backoff.refused_delay = Duration::from_millis(10);
    let te = tokio::spawn(task_executor::run(config));

    let handle = am.connected().await;
    assert!(matches!(am.message().await, ToAm::Register(_)));
    handle
        .send(ToTe::RegistrationDeclined {
            reason: "still starting".into(),
        })
        .unwrap();
    // It comes back with a new connection and registers again.
    let handle = loop {
        match within(am.events.recv()).await.unwrap() {
            ServerEvent::Connected { handle } => break handle,
            _ => continue,
        }
    };
    assert!(matches!(am.message().await, ToAm::Register(_)));
    handle
        .send(ToTe::RegistrationRefused {
            reason: "this ApplicationMaster did not start container_x".into(),
        })
        .unwrap();
    match within(te).await.unwrap() {
        Err(TaskExecutorError::RegistrationRefused { reason, .. }) => {
            assert!(reason.contains("did not start"), "{reason}")
        }
        other => panic!("expected the TaskExecutor to stop, got {other:?}"),
    }
}
