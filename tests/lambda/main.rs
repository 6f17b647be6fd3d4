//! The built binary, run the way Lambda runs it, against LocalStack's IAM and S3 behind the IAM
//! gate (the shipped policy judged as IAM judges it), with the sample events from `events/`.
//! What CloudFormation would receive is read back from the presigned S3 URL the function
//! answered to.
//!
//! Needs LocalStack (`make test` starts it); fails, never skips, without it. This file is the
//! harness; the tests are a resource's `lifecycle` and the `protocols`.

// The suites' one shared module; this suite is a folder (its tests in lifecycle.rs and
// protocols.rs), so the module is named by path.
#[path = "../support/mod.rs"]
mod support;

use support::{cfn, evidence, iam_gate, iam_wire, localstack, runtime_api};

use cfn::assert_answer;
use iam_gate::{Gate, Policy};
use runtime_api::{Function, Outcome, RuntimeApi};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
const STACK_B: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/other-app/0c1d2e3f";

fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// One function process working in a fresh LocalStack account, its AWS calls through the gate.
struct Lambda {
    api: Arc<RuntimeApi>,
    function: Function,
    account: String,
    iam: aws_sdk_iam::Client,
    gate: Gate,
}

impl Lambda {
    async fn start() -> Self {
        Self::start_with(&[]).await
    }

    async fn start_with(extra_env: &[(&'static str, String)]) -> Self {
        localstack::require().await;
        let account = localstack::fresh_account();
        let api = RuntimeApi::start().await;
        // The policy a deployment with the function's AllowedServices has.
        let allowed = extra_env
            .iter()
            .find(|(k, _)| *k == "UPSERT_SLR_ALLOWED_SERVICES")
            .map(|(_, v)| v.as_str());
        let gate = Gate::start(
            &localstack::endpoint(),
            Policy::for_allowed_services(allowed),
        )
        .await;
        let mut env = localstack::function_env_at(&account, &gate.url);
        env.extend(extra_env.iter().cloned());
        let function = Function::start(&api, &env);
        let iam = localstack::iam(&account);
        Lambda {
            api,
            function,
            account,
            iam,
            gate,
        }
    }

    /// `stack` (an ARN of the sample account) as the same stack of this test's account.
    fn in_this_account(&self, stack: &str) -> String {
        stack.replace(":123456789012:stack/", &format!(":{}:stack/", self.account))
    }

    /// CloudFormation answering for the sample events' stack as in `status` with `resources`
    /// (logical id, physical id, status): a stack deleting resources, which LocalStack's
    /// CloudFormation cannot be put in on demand. Replayed until the server is dropped.
    async fn cloudformation_shows(
        &self,
        status: &str,
        resources: &[(&str, &str, &str)],
    ) -> wiremock::MockServer {
        let server = wiremock::MockServer::start().await;
        let stack = self.in_this_account(SAMPLE_STACK);
        iam_wire::mount(
            &server,
            "DescribeStacks",
            iam_wire::stack_in(&stack, status),
        )
        .await;
        iam_wire::mount(
            &server,
            "ListStackResources",
            iam_wire::stack_resources(resources),
        )
        .await;
        self.gate.replay_cloudformation(&server.uri());
        server
    }

    /// The sample Create with RemovalPolicy Delete, answered: this resource creates the ECS role.
    async fn create_deletable(&self) {
        let create = fast(
            with(
                sample("create.json"),
                "req-1",
                json!({"RemovalPolicy": "Delete"}),
            ),
            "req-1",
        );
        assert_eq!(self.answer(create).await["Data"]["Created"], "true");
    }

    /// Invokes with `event` answering to a fresh presigned URL; returns the invocation outcome
    /// and what the function PUT there (if anything).
    async fn send(&self, mut event: Value) -> (Outcome, Option<Value>) {
        // A stack is in the function's own account: the policy's conditions name it.
        if let Some(stack) = event["StackId"].as_str() {
            event["StackId"] = json!(self.in_this_account(stack));
        }
        let key = localstack::new_key();
        event["ResponseURL"] = json!(localstack::presigned_put(&key, Duration::from_secs(600)));
        let outcome = self.api.invoke(&event, INVOKE_TIMEOUT).await;
        (outcome, localstack::answer(&key).await)
    }

    /// The answer CloudFormation would read, which must exist.
    async fn answer(&self, event: Value) -> Value {
        let (outcome, answer) = self.send(event).await;
        let answer = answer.unwrap_or_else(|| {
            panic!(
                "nothing was PUT; outcome {outcome:?}\n{}",
                self.function.logs()
            )
        });
        assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
        answer
    }

    async fn role(&self, name: &str) -> Option<aws_sdk_iam::types::Role> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(out) => out.role().cloned(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                None
            }
            Err(e) => panic!("GetRole: {e:?}"),
        }
    }

    async fn exists(&self, name: &str) -> bool {
        self.role(name).await.is_some()
    }

    /// The service's role made in IAM directly, the way a console click makes it.
    async fn made_outside_the_stack(&self, service: &str) {
        self.iam
            .create_service_linked_role()
            .aws_service_name(service)
            .send()
            .await
            .unwrap();
    }

    /// Checks the process is still serving, never panicked and never logged a presigned URL's
    /// signature, and that the shipped policy refused it nothing but what IAM refuses for a
    /// role that does not exist (a GetRole judged by an ARN without path).
    fn finish(mut self) {
        self.function.assert_sound();
        assert_eq!(self.api.init_errors(), Vec::<String>::new());
        let unexpected: Vec<String> = self
            .gate
            .denied()
            .into_iter()
            .filter(|d| !is_missing_role_lookup(d))
            .collect();
        assert_eq!(
            unexpected,
            Vec::<String>::new(),
            "the shipped policy refused these"
        );
    }
}

/// The stack of the sample events.
const SAMPLE_STACK: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/app/5b9d4e10-c8a1-11ef-9a5e-0a1b2c3d4e5f";

/// A GetRole of a name with no path: what IAM refuses, under a policy naming service-linked
/// paths, for a role that does not exist.
fn is_missing_role_lookup(denied: &str) -> bool {
    denied
        .strip_prefix("iam:GetRole on arn:aws:iam::")
        .and_then(|rest| rest.split_once(":role/"))
        .is_some_and(|(_, name)| !name.contains('/'))
}

fn with(mut event: Value, request_id: &str, props: Value) -> Value {
    event["RequestId"] = json!(request_id);
    for (k, v) in props.as_object().unwrap() {
        event["ResourceProperties"][k] = v.clone();
    }
    event
}

fn created_stack(event: &Value) -> String {
    event["StackId"].as_str().expect("StackId").to_string()
}

fn fast(event: Value, request_id: &str) -> Value {
    with(event, request_id, json!({"PropagationWaitSeconds": "1"}))
}

mod lifecycle;
mod protocols;
mod terraform;
