//! The real binary with IAM and the presigned ResponseURL played by wiremock (exact wire
//! answers, delays, errors), with the production retry settings, and what a fault test
//! records as evidence.

use super::cfn;
use super::evidence;
use super::iam_wire::*;
use super::runtime_api::{self, Function, Outcome, RuntimeApi};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::{MockServer, ResponseTemplate};

pub const SECOND: Duration = Duration::from_secs(1);

pub struct Rig {
    pub iam: MockServer,
    pub s3: MockServer,
    pub api: Arc<RuntimeApi>,
    pub function: Function,
    /// Where the ResponseURL points: the `s3` server unless a test chose another address.
    pub answers_at: String,
}

impl Rig {
    /// The function with IAM played by `iam` and the ResponseURL's bucket by `s3`, which gives
    /// each of `s3_replies` up to its count of times, in turn, then 200.
    pub async fn start(s3_replies: Vec<(ResponseTemplate, u64)>) -> Rig {
        Rig::start_at(s3_replies, None, None).await
    }

    /// The same, with IAM's endpoint or the ResponseURL's address replaced (e.g. by a port
    /// where nothing listens).
    pub async fn start_at(
        s3_replies: Vec<(ResponseTemplate, u64)>,
        iam_url: Option<String>,
        answers_at: Option<String>,
    ) -> Rig {
        Rig::start_with(s3_replies, iam_url, answers_at, &[]).await
    }

    /// The same, the function's environment extended with `extra`.
    pub async fn start_with(
        s3_replies: Vec<(ResponseTemplate, u64)>,
        iam_url: Option<String>,
        answers_at: Option<String>,
        extra: &[(&'static str, String)],
    ) -> Rig {
        let (iam, s3) = (MockServer::start().await, MockServer::start().await);
        cfn::mount_response_url(&s3, s3_replies).await;
        let iam_url = iam_url.unwrap_or_else(|| iam.uri());
        let answers_at = answers_at.unwrap_or_else(|| s3.uri());
        let api = RuntimeApi::start().await;
        let mut env = runtime_api::loopback_env(&iam_url, &answers_at);
        env.extend_from_slice(extra);
        let function = Function::start(&api, &env);
        Rig {
            iam,
            s3,
            api,
            function,
            answers_at,
        }
    }

    /// Invokes a Create of the ECS role (or a Delete, which retains it) with `deadline`, and
    /// checks the outcome came before it.
    pub async fn invoke(&self, request_type: &str, deadline: Duration) -> (Outcome, Duration) {
        self.invoke_with(request_type, cfn::ecs_props(), deadline)
            .await
    }

    /// The same with other properties.
    pub async fn invoke_with(
        &self,
        request_type: &str,
        properties: Value,
        deadline: Duration,
    ) -> (Outcome, Duration) {
        let url = cfn::response_url(&self.answers_at);
        let event = cfn::request(request_type, &url, properties);
        let started = Instant::now();
        let outcome = self.api.invoke(&event, deadline).await;
        let took = started.elapsed();
        assert!(
            took < deadline,
            "outcome after {took:?}, deadline {deadline:?}\n{}",
            self.function.logs()
        );
        (outcome, took)
    }

    /// Every PUT the ResponseURL received, with its HTTP answer's status as wiremock chose it.
    pub async fn puts(&self) -> Vec<Value> {
        let json = |body: &String| serde_json::from_str(body).expect("JSON body");
        bodies(&self.s3).await.iter().map(json).collect()
    }

    /// How many PUTs the ResponseURL received.
    pub async fn answer_count(&self) -> usize {
        bodies(&self.s3).await.len()
    }

    /// The one answer PUT.
    pub async fn answer(&self) -> Value {
        let puts = self.puts().await;
        assert_eq!(puts.len(), 1, "{puts:#?}");
        puts.into_iter().next().unwrap()
    }

    pub async fn iam_calls(&self, action: &str) -> usize {
        let calls = bodies(&self.iam).await;
        calls
            .iter()
            .filter(|b| action_of(b) == Some(action))
            .count()
    }

    /// The logs once the function has had time to write what follows its answer.
    pub async fn logs_after_answer(&self) -> String {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.function.logs()
    }

    pub fn finish(mut self) {
        self.function.assert_sound();
    }
}

/// A row of RELIABILITY.md: what was tried, and what held, with how long it took.
pub fn held(tried: &str, what_held: &str, took: Duration) {
    let held = what_held.replace("{ms}", &took.as_millis().to_string());
    evidence::record("Faults", tried, 1, &held);
}

/// A loopback URL where nothing listens: connections are refused.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}
