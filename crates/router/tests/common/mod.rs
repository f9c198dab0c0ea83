//! Fake targets for router tests: each answers its n-th call as a script
//! says, and records what it received. Time is paused in these tests
//! (tokio's test clock), so retries with real backoff run instantly.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_router::arn::{Arn, TargetKind};
use sluice_router::load::parse_rules;
use sluice_router::model::Environment;
use sluice_router::policy::StackSettings;
use sluice_router::table::RuleTable;
use sluice_router::{
    BoxFuture, Connect, ConnectError, Deliver, Delivery, DeliveryError, Router, RouterSettings,
};

/// What a fake target does on its n-th call (1-based).
type Script = Arc<dyn Fn(usize) -> Behaviour + Send + Sync>;

#[derive(Clone)]
pub enum Behaviour {
    Accept,
    Fail(DeliveryError),
    Hang(Duration),
}

pub struct FakeTarget {
    script: Script,
    pub calls: AtomicUsize,
    pub received: Mutex<Vec<Delivery>>,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

/// The deliverer the router gets for a fake target.
struct Handle(Arc<FakeTarget>);

impl Deliver for Handle {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        let this = self.0.clone();
        let n = this.calls.fetch_add(1, SeqCst) + 1;
        let behaviour = (this.script)(n);
        let now = this.in_flight.fetch_add(1, SeqCst) + 1;
        this.max_in_flight.fetch_max(now, SeqCst);
        Box::pin(async move {
            let result = match behaviour {
                Behaviour::Accept => {
                    this.received.lock().unwrap().push(delivery);
                    Ok(())
                }
                Behaviour::Fail(e) => Err(e),
                Behaviour::Hang(d) => {
                    tokio::time::sleep(d).await;
                    this.received.lock().unwrap().push(delivery);
                    Ok(())
                }
            };
            this.in_flight.fetch_sub(1, SeqCst);
            result
        })
    }
}

/// Fake targets by ARN; the connector hands them out.
#[derive(Default, Clone)]
pub struct Fakes {
    targets: Arc<Mutex<HashMap<String, Arc<FakeTarget>>>>,
}

impl Fakes {
    pub fn add(&self, arn: &str, script: impl Fn(usize) -> Behaviour + Send + Sync + 'static) {
        let target = Arc::new(FakeTarget {
            script: Arc::new(script),
            calls: AtomicUsize::new(0),
            received: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        self.targets.lock().unwrap().insert(arn.to_string(), target);
    }

    pub fn get(&self, arn: &str) -> Arc<FakeTarget> {
        self.targets.lock().unwrap()[arn].clone()
    }
}

impl Connect for Fakes {
    fn connect(&self, arn: &Arn, _: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError> {
        match self.targets.lock().unwrap().get(arn.as_str()) {
            Some(t) => Ok(Arc::new(Handle(t.clone()))),
            None => Err(ConnectError {
                arn: arn.to_string(),
                message: "no such fake".into(),
            }),
        }
    }
}

pub fn arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:123456789012:{name}")
}

pub fn settings() -> RouterSettings {
    RouterSettings {
        stack: StackSettings {
            concurrency_per_target: 8,
            attempt_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            jitter: 1.0,
        },
        max_pending: 1000,
        ..RouterSettings::default()
    }
}

pub fn router(fakes: &Fakes, rules: &str) -> Router {
    router_with(fakes, rules, settings())
}

/// A router over `rules` with `settings` (a restart keeps the clock).
pub fn router_with(fakes: &Fakes, rules: &str, settings: RouterSettings) -> Router {
    let rules = parse_rules(
        "rules.json",
        rules,
        &Default::default(),
        &Environment::default(),
    )
    .expect("test rules load");
    Router::new(
        RuleTable::new(rules).unwrap(),
        Arc::new(fakes.clone()),
        settings,
    )
    .expect("fakes connect")
}

/// One rule sending every test event to two targets: `down_id` at the
/// fake `down`, with the fake `dlq` as its dead-letter queue, and `up` at
/// the fake `up`.
pub fn down_with_dead_letters_and_up(down_id: &str) -> String {
    format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["test"]}}, "Targets": [
            {{"Id": "{down_id}", "Arn": "{}", "DeadLetterConfig": {{"Arn": "{}"}}}},
            {{"Id": "up", "Arn": "{}"}}]}}]"#,
        arn("down"),
        arn("dlq"),
        arn("up")
    )
}

pub fn event(i: usize) -> String {
    format!(r#"{{"id": "e{i}", "source": "test", "detail-type": "t", "detail": {{"n": {i}}}}}"#)
}

/// The string attributes of a delivery, by name.
pub fn attributes(d: &Delivery) -> HashMap<&str, &str> {
    d.attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
