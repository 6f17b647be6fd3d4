//! The built binary, run the way Lambda runs it, against LocalStack's IAM and S3 behind the IAM
//! gate (the shipped policy judged as IAM judges it), with the sample events from `events/`.
//! What CloudFormation would receive is read back from the presigned S3 URL the function
//! answered to.
//!
//! Needs LocalStack (`make test` starts it); fails, never skips, without it.

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

#[tokio::test(flavor = "multi_thread")]
async fn create_then_adopt_then_retained_delete() {
    let lambda = Lambda::start().await;

    let created = lambda
        .answer(fast(sample("create.json"), "req-create"))
        .await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["PhysicalResourceId"], "AWSServiceRoleForECS");
    assert_eq!(created["RequestId"], "req-create");
    assert_eq!(created["LogicalResourceId"], "EcsServiceLinkedRole");
    let arn = format!(
        "arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
        lambda.account
    );
    assert_eq!(
        created["Data"],
        json!({"RoleName": "AWSServiceRoleForECS", "Arn": arn, "Created": "true"})
    );
    assert_eq!(
        created["Reason"],
        "created AWSServiceRoleForECS; waited 1 s for IAM propagation"
    );
    let role = lambda
        .role("AWSServiceRoleForECS")
        .await
        .expect("role created");
    let tags: Vec<(&str, &str)> = role.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert!(
        tags.contains(&("upsert-slr:logical-id", "EcsServiceLinkedRole")),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("upsert-slr:request-id", "req-create")),
        "{tags:?}"
    );

    // Another stack declaring the same role, with the same wait: the creator already waited it
    // out, so the role is adopted at once, Created "false".
    // Its Reason names the stack that owns the role and what that stack's delete would do.
    let mut adopt = fast(sample("create.json"), "req-adopt");
    let creator = lambda.in_this_account(&created_stack(&adopt));
    adopt["StackId"] = json!(created_stack(&adopt).replace("stack/app/", "stack/other/"));
    adopt["LogicalResourceId"] = json!("SharedEcsRole");
    let adopted = lambda.answer(adopt).await;
    assert_eq!(adopted["Status"], "SUCCESS");
    assert_eq!(adopted["Data"]["Created"], "false");
    assert_eq!(adopted["Data"]["Arn"], arn);
    assert_eq!(
        adopted["Reason"],
        format!(
            "adopted existing AWSServiceRoleForECS (created by EcsServiceLinkedRole of stack \
             {creator}, RemovalPolicy Retain: its delete keeps the role)"
        )
    );

    // The creating resource asking again is told nothing about owners: the role is its own.
    let again = lambda
        .answer(fast(sample("create.json"), "req-again"))
        .await;
    assert_eq!(again["Reason"], "adopted existing AWSServiceRoleForECS");

    let deleted = lambda.answer(sample("delete.json")).await;
    assert_answer(
        &deleted,
        "SUCCESS",
        "retained AWSServiceRoleForECS: RemovalPolicy is Retain",
    );
    assert!(
        lambda.exists("AWSServiceRoleForECS").await,
        "Retain keeps the role"
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_suffix_fails_with_iams_message_and_its_delete_succeeds() {
    let lambda = Lambda::start().await;

    let failed = lambda.answer(sample("create-suffix-refused.json")).await;
    assert_answer(
        &failed,
        "FAILED",
        "InvalidInput: Custom suffix is not allowed for ecs.amazonaws.com (iam:CreateServiceLinkedRole)",
    );
    assert_eq!(
        failed["PhysicalResourceId"],
        "upsert-slr:create-failed:EcsServiceLinkedRole"
    );

    // CloudFormation then deletes what the FAILED answer named.
    let mut delete = with(
        sample("delete-remove.json"),
        "req-rollback",
        json!({"CustomSuffix": "team-a"}),
    );
    delete["PhysicalResourceId"] = failed["PhysicalResourceId"].clone();
    let deleted = lambda.answer(delete).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(
        deleted["PhysicalResourceId"],
        "upsert-slr:create-failed:EcsServiceLinkedRole"
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn construct_property_names_and_an_allowed_suffix() {
    let lambda = Lambda::start().await;
    let created = lambda.answer(sample("create-construct-names.json")).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(
        created["PhysicalResourceId"],
        "AWSServiceRoleForAutoScaling_team-a"
    );
    assert_eq!(created["Data"]["Created"], "true");
    assert!(lambda.exists("AWSServiceRoleForAutoScaling_team-a").await);
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn update_changes_the_description_in_place() {
    let lambda = Lambda::start().await;
    lambda.answer(fast(sample("create.json"), "req-1")).await;

    let updated = lambda.answer(sample("update.json")).await;

    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["PhysicalResourceId"], "AWSServiceRoleForECS");
    assert_eq!(updated["Data"]["RoleName"], "AWSServiceRoleForECS");
    let role = lambda.role("AWSServiceRoleForECS").await.unwrap();
    assert_eq!(
        role.description(),
        Some("Role for ECS, description changed")
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_suffix_replaces_the_role_and_the_old_one_is_deleted() {
    let lambda = Lambda::start().await;
    let props = |suffix: &str| json!({"awsServiceName": "autoscaling.amazonaws.com", "customSuffix": suffix, "waitTimeSeconds": 0, "RemovalPolicy": "Delete"});
    let mut create = sample("create.json");
    create["ResourceProperties"] = props("a");
    lambda.answer(create).await;

    let mut update = sample("update.json");
    update["OldResourceProperties"] = props("a");
    update["ResourceProperties"] = props("b");
    update["PhysicalResourceId"] = json!("AWSServiceRoleForAutoScaling_a");
    let updated = lambda.answer(update).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(
        updated["PhysicalResourceId"], "AWSServiceRoleForAutoScaling_b",
        "a new physical id means replacement"
    );
    assert_eq!(updated["Data"]["Created"], "true");

    // CloudFormation cleans up the old physical id, the resource now standing for the new one.
    let _cloudformation = lambda
        .cloudformation_shows(
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            &[(
                "EcsServiceLinkedRole",
                "AWSServiceRoleForAutoScaling_b",
                "UPDATE_COMPLETE",
            )],
        )
        .await;
    let mut cleanup = sample("delete-remove.json");
    cleanup["ResourceProperties"] = props("a");
    cleanup["PhysicalResourceId"] = json!("AWSServiceRoleForAutoScaling_a");
    let deleted = lambda.answer(cleanup).await;
    assert_answer(
        &deleted,
        "SUCCESS",
        "deleted AWSServiceRoleForAutoScaling_a",
    );
    assert!(!lambda.exists("AWSServiceRoleForAutoScaling_a").await);
    assert!(lambda.exists("AWSServiceRoleForAutoScaling_b").await);
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn removal_policy_delete_removes_only_roles_this_resource_created() {
    let lambda = Lambda::start().await;
    let create = fast(
        with(
            sample("create.json"),
            "req-1",
            json!({"RemovalPolicy": "Delete"}),
        ),
        "req-1",
    );
    assert_eq!(lambda.answer(create).await["Data"]["Created"], "true");

    // The same role declared by another stack: adopted, and that stack's Delete spares it.
    let mut foreign = with(sample("delete-remove.json"), "req-2", json!({}));
    foreign["StackId"] = json!(STACK_B);
    let retained = lambda.answer(foreign).await;
    assert_answer(
        &retained,
        "SUCCESS",
        "retained AWSServiceRoleForECS: AWSServiceRoleForECS was not created by this resource",
    );
    assert!(lambda.exists("AWSServiceRoleForECS").await);

    let _cloudformation = lambda.cloudformation_shows("DELETE_IN_PROGRESS", &[]).await;
    let deleted = lambda.answer(sample("delete-remove.json")).await;
    assert_answer(&deleted, "SUCCESS", "deleted AWSServiceRoleForECS");
    assert!(!lambda.exists("AWSServiceRoleForECS").await);

    // Already gone: a repeated Delete still succeeds.
    let again = lambda.answer(sample("delete-remove.json")).await;
    assert_answer(
        &again,
        "SUCCESS",
        "nothing to delete: AWSServiceRoleForECS does not exist",
    );
    evidence::record(
        "Never lose a role",
        "Delete with RemovalPolicy Delete from another stack declaring the same role (LocalStack)",
        1,
        "retained; only the creating resource's Delete removed it",
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_made_outside_the_stack_survives_removal_policy_delete() {
    let lambda = Lambda::start().await;
    lambda.made_outside_the_stack("ecs.amazonaws.com").await;

    let adopted = lambda
        .answer(with(
            sample("create.json"),
            "req-1",
            json!({"RemovalPolicy": "Delete"}),
        ))
        .await;
    assert_eq!(adopted["Data"]["Created"], "false");
    let deleted = lambda.answer(sample("delete-remove.json")).await;

    assert_eq!(deleted["Status"], "SUCCESS");
    assert!(
        deleted["Reason"]
            .as_str()
            .unwrap()
            .starts_with("retained AWSServiceRoleForECS"),
        "{deleted}"
    );
    assert!(
        lambda.exists("AWSServiceRoleForECS").await,
        "a console-made role must survive"
    );
    evidence::record(
        "Never lose a role",
        "Delete with RemovalPolicy Delete of a role made outside the stack (LocalStack)",
        1,
        "retained",
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_mode_returns_the_result_and_puts_nothing() {
    let lambda = Lambda::start().await;

    let (outcome, put) = lambda
        .send(fast(sample("provider-create.json"), "req-p1"))
        .await;
    let arn = format!(
        "arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
        lambda.account
    );
    assert_eq!(
        outcome,
        Outcome::Result(
            json!({"PhysicalResourceId": "AWSServiceRoleForECS", "Data": {"RoleName": "AWSServiceRoleForECS", "Arn": arn, "Created": "true"}})
        )
    );
    assert_eq!(
        put, None,
        "the Provider framework answers CloudFormation itself"
    );

    let refused = with(
        sample("provider-create.json"),
        "req-p2",
        json!({"CustomSuffix": "x"}),
    );
    let (outcome, put) = lambda.send(refused).await;
    assert_eq!(
        outcome.error_message(),
        "InvalidInput: Custom suffix is not allowed for ecs.amazonaws.com (iam:CreateServiceLinkedRole)"
    );
    assert_eq!(put, None);
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_payloads_fail_the_invocation_and_the_process_serves_the_next_event() {
    let lambda = Lambda::start().await;
    let mut no_url = sample("create.json");
    no_url.as_object_mut().unwrap().remove("ResponseURL");
    let bad: Vec<(Vec<u8>, &str)> = vec![
        (b"this is not JSON".to_vec(), "failed to deserialize"),
        (
            b"[1, 2]".to_vec(),
            "the payload is a list, not a JSON object",
        ),
        (
            serde_json::to_vec(&no_url).unwrap(),
            "ResponseURL is missing",
        ),
    ];
    for (payload, why) in bad {
        let outcome = runtime_api::await_outcome(
            lambda.api.invoke_raw(payload, INVOKE_TIMEOUT),
            INVOKE_TIMEOUT,
        )
        .await;
        assert!(
            outcome.error_message().contains(why),
            "{outcome:?} should say {why}"
        );
    }
    let mut foreign_url = sample("create.json");
    foreign_url["ResponseURL"] =
        json!("http://169.254.169.254/latest/meta-data?X-Amz-Signature=secret");
    let outcome = lambda.api.invoke(&foreign_url, INVOKE_TIMEOUT).await;
    assert!(
        outcome.error_message().contains("refused: only https://"),
        "{outcome:?}"
    );

    let created = lambda
        .answer(fast(sample("create.json"), "req-after-bad"))
        .await;
    assert_eq!(created["Status"], "SUCCESS");
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_event_twice_gets_the_same_answer() {
    let lambda = Lambda::start().await;
    let event = fast(sample("create.json"), "req-twice");
    let first = lambda.answer(event.clone()).await;
    let second = lambda.answer(event).await;
    assert_eq!(first["Data"]["Created"], "true");
    assert_eq!(first, second);
    evidence::record(
        "Races",
        "the same Create event delivered twice (LocalStack)",
        2,
        "identical answers, both Created \"true\"",
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_functions_racing_for_one_role_all_succeed_and_one_creates_it() {
    localstack::require().await;
    let account = localstack::fresh_account();
    let api = RuntimeApi::start().await;
    let mut functions: Vec<Function> = (0..16)
        .map(|_| Function::start(&api, &localstack::function_env(&account)))
        .collect();
    api.wait_for_pollers(16).await;

    let keys: Vec<String> = (0..16).map(|_| localstack::new_key()).collect();
    let pending: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let mut event = fast(sample("create.json"), &format!("req-race-{i}"));
            event["ResponseURL"] = json!(localstack::presigned_put(key, Duration::from_secs(600)));
            api.invoke_raw(serde_json::to_vec(&event).unwrap(), INVOKE_TIMEOUT)
        })
        .collect();
    for rx in pending {
        runtime_api::await_outcome(rx, INVOKE_TIMEOUT).await;
    }

    let mut answers = Vec::new();
    for key in &keys {
        answers.push(
            localstack::answer(key)
                .await
                .expect("every function answered"),
        );
    }
    assert!(
        answers.iter().all(|a| a["Status"] == "SUCCESS"),
        "{answers:#?}"
    );
    let created = answers
        .iter()
        .filter(|a| a["Data"]["Created"] == "true")
        .count();
    assert_eq!(created, 1, "exactly one creator: {answers:#?}");
    let arns: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|a| a["Data"]["Arn"].as_str().unwrap())
        .collect();
    assert_eq!(arns.len(), 1, "{arns:?}");
    evidence::record(
        "Races",
        "16 function processes upsert the same SLR at once (LocalStack)",
        16,
        "16 SUCCESS, exactly one Created \"true\", one ARN",
    );
    for f in &mut functions {
        f.assert_sound();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswering_iam_gets_a_failed_answer_before_the_deadline() {
    // Accepts connections and never answers.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let iam_url = format!("http://{}", black_hole.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = black_hole.accept().await {
            held.push(socket);
        }
    });
    let lambda = Lambda::start_with(&[("AWS_ENDPOINT_URL_IAM", iam_url)]).await;
    let key = localstack::new_key();
    let mut event = sample("create.json");
    event["ResponseURL"] = json!(localstack::presigned_put(&key, Duration::from_secs(600)));

    let started = std::time::Instant::now();
    let outcome = lambda.api.invoke(&event, Duration::from_secs(4)).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the answer came after the deadline"
    );

    assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
    let answer = localstack::answer(&key).await.expect("answered");
    evidence::record(
        "Faults",
        "IAM endpoint accepts TCP and never answers; real binary, LocalStack S3 (4 s deadline)",
        1,
        &format!(
            "FAILED answer PUT after {} ms",
            started.elapsed().as_millis()
        ),
    );
    assert_answer(
        &answer,
        "FAILED",
        "timed out while calling iam:CreateServiceLinkedRole for ecs.amazonaws.com, before the Lambda deadline",
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_survives_the_rollback_of_a_failed_create() {
    let lambda = Lambda::start().await;
    lambda.made_outside_the_stack("ecs.amazonaws.com").await;

    // The stack's Create fails (here on a Description IAM would refuse)...
    let create = with(
        sample("create.json"),
        "req-1",
        json!({"RemovalPolicy": "Delete", "Description": "ECS 🚀"}),
    );
    let failed = lambda.answer(create).await;
    assert_eq!(failed["Status"], "FAILED");
    // ...and CloudFormation's rollback deletes what the FAILED answer named.
    let mut rollback = with(
        sample("delete-remove.json"),
        "req-2",
        json!({"Description": "ECS 🚀"}),
    );
    rollback["PhysicalResourceId"] = failed["PhysicalResourceId"].clone();
    let deleted = lambda.answer(rollback).await;

    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(
        lambda.exists("AWSServiceRoleForECS").await,
        "the existing role must survive the rollback"
    );
    evidence::record(
        "Never lose a role",
        "rollback Delete (RemovalPolicy Delete) after a FAILED Create, role already in the account (LocalStack)",
        1,
        "retained",
    );
    lambda.finish();
}

/// The "event handled" log lines (JSON log format) whose outcome is `outcome`.
fn logged(logs: &str, outcome: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|line| line["fields"].clone())
        .filter(|f| f["message"] == "event handled" && f["outcome"] == outcome)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_is_complete_the_log_names_the_role_on_event_created_or_is_deleting() {
    let lambda = Lambda::start_with(&[
        ("UPSERT_SLR_WAIT", "is-complete".into()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
    ])
    .await;
    let create = with(
        sample("provider-create.json"),
        "req-ic1",
        json!({"RemovalPolicy": "Delete"}),
    );
    let (outcome, put) = lambda.send(create.clone()).await;
    let Outcome::Result(result) = outcome else {
        panic!("{outcome:?}\n{}", lambda.function.logs())
    };
    assert!(result["UpsertSlrWait"]["UntilEpochMs"].is_u64(), "{result}");
    assert_eq!(put, None);

    let mut delete = create;
    delete["RequestType"] = json!("Delete");
    delete["RequestId"] = json!("req-ic2");
    delete["PhysicalResourceId"] = json!("AWSServiceRoleForECS");
    let _cloudformation = lambda.cloudformation_shows("DELETE_IN_PROGRESS", &[]).await;
    let (outcome, put) = lambda.send(delete).await;
    let Outcome::Result(result) = outcome else {
        panic!("{outcome:?}\n{}", lambda.function.logs())
    };
    assert!(
        result["UpsertSlrWait"]["DeletionTaskId"].is_string(),
        "{result}"
    );
    assert_eq!(put, None);

    let logs = lambda.function.logs();
    // The RequestId is what a FAILED stack event quotes: the key to the request's log line.
    for (outcome, request_id) in [("created", "req-ic1"), ("deleted", "req-ic2")] {
        let lines = logged(&logs, outcome);
        assert_eq!(lines.len(), 1, "one {outcome} line:\n{logs}");
        assert_eq!(
            lines[0]["role_name"], "AWSServiceRoleForECS",
            "{}",
            lines[0]
        );
        assert_eq!(lines[0]["request_id"], request_id, "{}", lines[0]);
    }
    lambda.finish();
}

const RACE_WAIT: Duration = Duration::from_secs(4);

/// Two stacks' Creates for the same role, at the same moment, each handled by its own function
/// process in one fresh account, with `RACE_WAIT` as PropagationWaitSeconds.
struct Race {
    api: Arc<RuntimeApi>,
    functions: Vec<Function>,
    /// Per stack: the invocation's outcome, what it PUT, and when it finished.
    results: Vec<(Outcome, Option<Value>, SystemTime)>,
    /// The role's CreateDate as IAM keeps it.
    created_at: SystemTime,
}

async fn race_two_stacks(sample_name: &str, extra_env: &[(&'static str, String)]) -> Race {
    localstack::require().await;
    let account = localstack::fresh_account();
    let api = RuntimeApi::start().await;
    let mut env = localstack::function_env(&account);
    env.extend(extra_env.iter().cloned());
    let functions: Vec<Function> = (0..2).map(|_| Function::start(&api, &env)).collect();
    api.wait_for_pollers(2).await;

    let stack = |request_id: &str, logical_id: &str, stack_id: Value| {
        let wait = RACE_WAIT.as_secs().to_string();
        let mut event = with(
            sample(sample_name),
            request_id,
            json!({"PropagationWaitSeconds": wait}),
        );
        event["LogicalResourceId"] = json!(logical_id);
        event["StackId"] = stack_id;
        let key = localstack::new_key();
        event["ResponseURL"] = json!(localstack::presigned_put(&key, Duration::from_secs(600)));
        let pending = api.invoke_raw(serde_json::to_vec(&event).unwrap(), INVOKE_TIMEOUT);
        async move {
            let outcome = runtime_api::await_outcome(pending, INVOKE_TIMEOUT).await;
            let finished = SystemTime::now();
            (outcome, localstack::answer(&key).await, finished)
        }
    };
    let (a, b) = tokio::join!(
        stack(
            "req-stack-a",
            "EcsServiceLinkedRole",
            sample(sample_name)["StackId"].clone()
        ),
        stack("req-stack-b", "EcsRole", json!(STACK_B)),
    );
    let role = localstack::iam(&account)
        .get_role()
        .role_name("AWSServiceRoleForECS")
        .send()
        .await
        .unwrap();
    let created_at = SystemTime::try_from(*role.role().unwrap().create_date()).unwrap();
    Race {
        api,
        functions,
        results: vec![a, b],
        created_at,
    }
}

impl Race {
    fn finish(mut self) {
        for f in &mut self.functions {
            f.assert_sound();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_adopting_a_role_created_a_moment_ago_answers_only_after_its_propagation_wait() {
    let race = race_two_stacks("create.json", &[]).await;

    let answers: Vec<&Value> = race
        .results
        .iter()
        .map(|(_, answer, _)| answer.as_ref().expect("both stacks answered"))
        .collect();
    assert!(
        answers.iter().all(|a| a["Status"] == "SUCCESS"),
        "{answers:#?}"
    );
    let adopters: Vec<_> = race
        .results
        .iter()
        .filter(|(_, answer, _)| answer.as_ref().unwrap()["Data"]["Created"] == "false")
        .collect();
    assert_eq!(adopters.len(), 1, "one creator, one adopter: {answers:#?}");
    let (_, adopted, answered_at) = adopters[0];
    let reason = adopted.as_ref().unwrap()["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with("adopted AWSServiceRoleForECS, created ")
            && reason.ends_with(" s for IAM propagation"),
        "{reason}"
    );
    let earliest = race.created_at + RACE_WAIT;
    assert!(
        *answered_at >= earliest,
        "the adopter answered {:?} before the role's propagation wait was over",
        earliest.duration_since(*answered_at).unwrap()
    );

    let logs: String = race.functions.iter().map(|f| f.logs()).collect();
    let adopted_lines = logged(&logs, "adopted");
    assert_eq!(adopted_lines.len(), 1, "{logs}");
    assert!(
        adopted_lines[0]["role_age_s"]
            .as_u64()
            .is_some_and(|age| age < RACE_WAIT.as_secs()),
        "the log line carries the role's age: {}",
        adopted_lines[0]
    );
    evidence::record(
        "Races",
        "2 stacks upsert one SLR at once, 4 s propagation wait (LocalStack)",
        1,
        "the adopting stack answered only once CreateDate + 4 s had passed",
    );
    race.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_is_complete_a_stack_adopting_a_young_role_completes_only_after_its_wait() {
    let wait_setting = ("UPSERT_SLR_WAIT", "is-complete".to_string());
    let race = race_two_stacks("provider-create.json", &[wait_setting]).await;

    let on_events: Vec<&Value> = race
        .results
        .iter()
        .map(|(outcome, put, _)| {
            assert_eq!(put, &None, "behind a Provider nothing is PUT");
            match outcome {
                Outcome::Result(result) => result,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    let created_ms = race
        .created_at
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    for result in &on_events {
        let until = result["UpsertSlrWait"]["UntilEpochMs"].as_u64();
        assert!(
            until.is_some_and(|until| until >= created_ms + RACE_WAIT.as_millis() as u64),
            "{result} ends its wait less than {RACE_WAIT:?} after the role's creation ({created_ms})"
        );
    }
    let adopted = on_events
        .iter()
        .find(|r| r["Data"]["Created"] == "false")
        .expect("one stack adopted");

    // The framework asks isComplete, with the request and onEvent's result, until it says yes.
    let mut is_complete = sample("provider-create.json");
    for (k, v) in adopted.as_object().unwrap() {
        is_complete[k] = v.clone();
    }
    let completed_at = loop {
        let key = localstack::new_key();
        is_complete["ResponseURL"] =
            json!(localstack::presigned_put(&key, Duration::from_secs(600)));
        match race.api.invoke(&is_complete, INVOKE_TIMEOUT).await {
            Outcome::Result(r) if r["IsComplete"] == true => break SystemTime::now(),
            Outcome::Result(r) if r["IsComplete"] == false => {}
            other => panic!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        completed_at >= race.created_at + RACE_WAIT,
        "isComplete said yes before the role's propagation wait was over"
    );
    evidence::record(
        "Races",
        "2 stacks upsert one SLR at once behind a Provider with isComplete, 4 s propagation wait (LocalStack)",
        1,
        "the adopting stack's isComplete said yes only once CreateDate + 4 s had passed",
    );
    race.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_macro_event_is_answered_as_the_result_without_touching_iam() {
    let lambda = Lambda::start_with(&[("UPSERT_SLR_FUNCTION_TIMEOUT", "300".into())]).await;
    let event = sample("macro.json");
    let outcome = lambda.api.invoke(&event, INVOKE_TIMEOUT).await;
    let Outcome::Result(answer) = outcome else {
        panic!("{outcome:?}\n{}", lambda.function.logs());
    };
    assert_eq!(answer["requestId"], event["requestId"]);
    assert_eq!(answer["status"], "success", "{answer}");
    let resources = &answer["fragment"]["Resources"];
    for (id, service, needer) in [
        ("UpsertSlrECS", "ecs.amazonaws.com", "Cluster"),
        (
            "UpsertSlrApplicationAutoScalingECSService",
            "ecs.application-autoscaling.amazonaws.com",
            "Scaling",
        ),
        (
            "UpsertSlrAmazonOpenSearchService",
            "opensearchservice.amazonaws.com",
            "Search",
        ),
    ] {
        assert_eq!(
            resources[id],
            json!({"Type": "Custom::ServiceLinkedRole", "Properties": {
                "ServiceToken": runtime_api::FUNCTION_ARN, "ServiceTimeout": 600,
                "AWSServiceName": service}}),
            "{id}"
        );
        assert_eq!(resources[needer]["DependsOn"], id, "{needer}");
    }
    assert!(
        !lambda.exists("AWSServiceRoleForECS").await,
        "the transform made a role"
    );

    // A malformed one is a failure answer, not a failed invocation; the process goes on.
    let mut bad = event.clone();
    bad["params"] = json!({"Exclude": 7});
    let Outcome::Result(failed) = lambda.api.invoke(&bad, INVOKE_TIMEOUT).await else {
        panic!("the malformed macro event failed the invocation");
    };
    assert_eq!(failed["status"], "failure");
    assert_eq!(
        failed["errorMessage"],
        "params.Exclude is a number, not a list of service names or a comma-separated string"
    );
    let created = lambda
        .answer(fast(sample("create.json"), "req-after-macro"))
        .await;
    assert_eq!(created["Status"], "SUCCESS");
    assert!(
        lambda
            .function
            .logs()
            .contains("\"roles_added\":\"UpsertSlrECS,UpsertSlrApplicationAutoScalingECSService,UpsertSlrAmazonOpenSearchService\""),
        "{}",
        lambda.function.logs()
    );
    lambda.finish();
}

/// A Delete with RemovalPolicy Delete of the role this resource created, which CloudFormation
/// did not send: LocalStack's CloudFormation has no such stack, or holds the stack in a status
/// in which it deletes nothing. The role stays, and the Reason says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_delete_cloudformation_did_not_send_keeps_the_role() {
    let lambda = Lambda::start().await;
    let create = fast(
        with(
            sample("create.json"),
            "req-1",
            json!({"RemovalPolicy": "Delete"}),
        ),
        "req-1",
    );
    assert_eq!(lambda.answer(create).await["Data"]["Created"], "true");
    let kept = lambda.answer(sample("delete-remove.json")).await;
    assert_answer(
        &kept,
        "SUCCESS",
        &format!(
            "retained AWSServiceRoleForECS: CloudFormation has no stack {}, so this Delete did \
             not come from it",
            lambda.in_this_account(SAMPLE_STACK)
        ),
    );
    assert!(lambda.exists("AWSServiceRoleForECS").await);

    let template =
        r#"{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#;
    let stack = localstack::create_stack(&lambda.account, "settled", template).await;
    let props = json!({"AWSServiceName": "autoscaling.amazonaws.com", "CustomSuffix": "settled", "PropagationWaitSeconds": "0", "RemovalPolicy": "Delete"});
    let mut create = with(sample("create.json"), "req-2", json!({}));
    create["StackId"] = json!(stack);
    create["ResourceProperties"] = props.clone();
    assert_eq!(lambda.answer(create).await["Data"]["Created"], "true");
    let mut delete = with(sample("delete-remove.json"), "req-3", json!({}));
    delete["StackId"] = json!(stack);
    delete["ResourceProperties"] = props;
    delete["PhysicalResourceId"] = json!("AWSServiceRoleForAutoScaling_settled");
    let kept = lambda.answer(delete).await;
    assert_answer(
        &kept,
        "SUCCESS",
        &format!(
            "retained AWSServiceRoleForAutoScaling_settled: stack {stack} is CREATE_COMPLETE, a \
             status in which CloudFormation deletes no resource, so this Delete did not come from it"
        ),
    );
    assert!(lambda.exists("AWSServiceRoleForAutoScaling_settled").await);
    evidence::record(
        "Never lose a role",
        "Delete with RemovalPolicy Delete that CloudFormation did not send: no such stack, a stack not deleting (LocalStack)",
        2,
        "retained, the Reason naming what CloudFormation showed",
    );
    lambda.finish();
}

/// The hook's answer to `events/hook-create.json`: a Redshift cluster about to be created.
async fn invoke_hook(lambda: &Lambda) -> Value {
    match lambda
        .api
        .invoke(&sample("hook-create.json"), INVOKE_TIMEOUT)
        .await
    {
        Outcome::Result(answer) => answer,
        other => panic!("{other:?}\n{}", lambda.function.logs()),
    }
}

/// The hook with AllowedServices limited to ECS, for a Redshift cluster: the role it may not
/// create is used when it exists and reported missing when it does not, under the policy such a
/// deployment ships; with the read narrowed to the allowed services' paths (as the policy once
/// was), the gate refuses the lookup and the hook fails.
#[tokio::test(flavor = "multi_thread")]
async fn a_hook_limited_to_other_services_uses_an_existing_role_under_the_shipped_policy() {
    let lambda = Lambda::start_with(&[
        ("UPSERT_SLR_ALLOWED_SERVICES", "ecs.amazonaws.com".into()),
        ("UPSERT_SLR_HOOK_WAIT_SECONDS", "0".into()),
    ])
    .await;
    let missing = invoke_hook(&lambda).await;
    assert_eq!(missing["hookStatus"], "FAILED", "{missing}");
    assert_eq!(
        missing["errorCode"], "NonCompliant",
        "a missing role, not an internal failure: {missing}"
    );

    lambda
        .made_outside_the_stack("redshift.amazonaws.com")
        .await;
    let found = invoke_hook(&lambda).await;
    assert_eq!(found["hookStatus"], "SUCCESS", "{found}");

    let ecs_path = "arn:*:iam::*:role/aws-service-role/ecs.amazonaws.com/*";
    lambda
        .gate
        .set_policy(Policy::shipped("ecs-only").narrowed("ReadServiceLinkedRoles", &[ecs_path]));
    let refused = invoke_hook(&lambda).await;
    assert_eq!(refused["hookStatus"], "FAILED", "{refused}");
    assert_eq!(refused["errorCode"], "InternalFailure", "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("so this function's role needs iam:GetRole on it"),
        "{message}"
    );
    let denied = lambda.gate.take_denied(|d| {
        d.starts_with("iam:GetRole on arn:aws:iam::")
            && d.contains(":role/aws-service-role/redshift.amazonaws.com/")
    });
    assert_eq!(denied.len(), 1, "{denied:?}");
    lambda.finish();
}

/// Without the stack reads, CloudFormation cannot confirm a deletion: the role stays, and the
/// Reason names the permission. What a narrowed policy would do on AWS, failing here first.
#[tokio::test(flavor = "multi_thread")]
async fn without_the_stack_reads_a_delete_keeps_the_role_naming_the_permission() {
    let lambda = Lambda::start().await;
    let create = fast(
        with(
            sample("create.json"),
            "req-1",
            json!({"RemovalPolicy": "Delete"}),
        ),
        "req-1",
    );
    assert_eq!(lambda.answer(create).await["Data"]["Created"], "true");
    let _cloudformation = lambda.cloudformation_shows("DELETE_IN_PROGRESS", &[]).await;
    lambda
        .gate
        .set_policy(Policy::shipped("any-service").without("ReadOwnStacks"));

    let kept = lambda.answer(sample("delete-remove.json")).await;

    assert_eq!(kept["Status"], "SUCCESS", "{kept}");
    let reason = kept["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with("retained AWSServiceRoleForECS: AccessDenied: User: ")
            && reason.ends_with("without it CloudFormation cannot confirm the deletion (allow cloudformation:DescribeStacks on this account's stacks)"),
        "{reason}"
    );
    assert!(lambda.exists("AWSServiceRoleForECS").await);
    let denied = lambda
        .gate
        .take_denied(|d| d.starts_with("cloudformation:DescribeStacks on "));
    assert_eq!(denied.len(), 1, "{denied:?}");
    lambda.finish();
}
