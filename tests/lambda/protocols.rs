//! The protocols and the process on the built binary against LocalStack: the Provider and its
//! isComplete, bad payloads and a process that serves on, redelivery, racing functions and
//! stacks, an unanswering IAM, the macro and the hook.

use super::*;

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
