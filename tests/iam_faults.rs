//! IAM as it behaves under load and between its own replicas, around the real binary: each call
//! the function makes throttled once and in a burst longer than the SDK's standard three
//! attempts, throttled past the deadline, a burst of twenty roles from twenty function
//! processes against an account-wide rate limit, ListRoles answering in pages, and a role IAM
//! calls taken before GetRole can see it.

mod support;

use support::{cfn, fault_rig, iam_wire, runtime_api};

use cfn::{ECS, ECS_ROLE, STACK};
use fault_rig::{Rig, SECOND, held};
use iam_wire::*;
use runtime_api::{Function, Outcome, RuntimeApi};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The ways through IAM a request takes, which between them make every IAM call.
#[derive(Clone, Copy, Debug)]
enum Path {
    /// CreateServiceLinkedRole creates it, TagRole marks it as this resource's.
    Create,
    /// CreateServiceLinkedRole says it has been taken, naming it; GetRole reads it.
    Adopt,
    /// The same without the name: ListRoles finds it.
    AdoptListed,
    /// Delete of this resource's role in a replacement's cleanup: GetRole, CloudFormation's
    /// DescribeStacks and ListStackResources, DeleteServiceLinkedRole, the deletion status.
    Delete,
}

impl Path {
    fn of(call: &str) -> Path {
        match call {
            "CreateServiceLinkedRole" | "TagRole" => Path::Create,
            "GetRole" => Path::Adopt,
            "ListRoles" => Path::AdoptListed,
            _ => Path::Delete,
        }
    }

    async fn mount(self, iam: &MockServer) {
        match self {
            Path::Create => mount_created(iam).await,
            Path::Adopt => {
                mount(iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
                mount(iam, "GetRole", ok("GetRole", &role_xml(ECS, ECS_ROLE, &[]))).await;
            }
            Path::AdoptListed => {
                let reworded = error(400, "InvalidInput", "The role has been taken.");
                mount(iam, "CreateServiceLinkedRole", reworded).await;
                mount(iam, "ListRoles", listed(ECS, &[ECS_ROLE], None)).await;
                mount(iam, "GetRole", ok("GetRole", &role_xml(ECS, ECS_ROLE, &[]))).await;
            }
            Path::Delete => {
                let owned = [
                    ("upsert-slr:stack-id", STACK),
                    ("upsert-slr:logical-id", "EcsRole"),
                ];
                mount(
                    iam,
                    "GetRole",
                    ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned)),
                )
                .await;
                let cleanup = stack_in(STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS");
                mount(iam, "DescribeStacks", cleanup).await;
                // The resource now stands for another role: its old one is free to go.
                let replaced = [("EcsRole", "AWSServiceRoleForECS_new", "UPDATE_COMPLETE")];
                mount(iam, "ListStackResources", stack_resources(&replaced)).await;
                let task = "<DeletionTaskId>task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/1</DeletionTaskId>";
                let deleting = ok("DeleteServiceLinkedRole", task);
                mount(iam, "DeleteServiceLinkedRole", deleting).await;
                mount(
                    iam,
                    "GetServiceLinkedRoleDeletionStatus",
                    deletion_status("SUCCEEDED", ""),
                )
                .await;
            }
        }
    }

    fn request_type(self) -> &'static str {
        match self {
            Path::Delete => "Delete",
            _ => "Create",
        }
    }

    fn properties(self) -> Value {
        let mut props = cfn::ecs_props();
        if let Path::Delete = self {
            props["RemovalPolicy"] = json!("Delete");
        }
        props
    }
}

/// ListRoles' answer: `names` under `service`'s path, with `marker` when more pages follow.
fn listed(service: &str, names: &[&str], marker: Option<&str>) -> ResponseTemplate {
    let roles: String = names
        .iter()
        .map(|name| {
            role_xml(service, name, &[])
                .replace("<Role>", "<member>")
                .replace("</Role>", "</member>")
        })
        .collect();
    let page = match marker {
        Some(marker) => format!("<IsTruncated>true</IsTruncated><Marker>{marker}</Marker>"),
        None => "<IsTruncated>false</IsTruncated>".to_string(),
    };
    ok("ListRoles", &format!("{page}<Roles>{roles}</Roles>"))
}

/// Every AWS call the function makes: IAM's, and CloudFormation's two reads before a delete.
const CALLS: [&str; 8] = [
    "CreateServiceLinkedRole",
    "GetRole",
    "TagRole",
    "ListRoles",
    "DescribeStacks",
    "ListStackResources",
    "DeleteServiceLinkedRole",
    "GetServiceLinkedRoleDeletionStatus",
];

/// The API a call belongs to, as a policy's action names it.
fn api(call: &str) -> &'static str {
    match call {
        "DescribeStacks" | "ListStackResources" => "cloudformation",
        _ => "iam",
    }
}

fn throttling(call: &str) -> ResponseTemplate {
    match api(call) {
        "cloudformation" => cfn_error(400, "Throttling", "Rate exceeded"),
        _ => error(400, "Throttling", "Rate exceeded"),
    }
}

/// `call` throttled `times` times on its path, then answered: SUCCESS, and the call was made
/// once more than it was refused.
async fn throttled_then_answered(call: &'static str, times: u64) -> Duration {
    let rig = Rig::start(vec![]).await;
    let path = Path::of(call);
    action(call)
        .respond_with(throttling(call))
        .up_to_n_times(times)
        .mount(&rig.iam)
        .await;
    path.mount(&rig.iam).await;

    let (outcome, took) = rig
        .invoke_with(path.request_type(), path.properties(), 30 * SECOND)
        .await;

    assert!(matches!(outcome, Outcome::Result(_)), "{call}: {outcome:?}");
    let answer = rig.answer().await;
    assert_eq!(
        answer["Status"], "SUCCESS",
        "{call} throttled {times}: {answer}"
    );
    assert_eq!(rig.iam_calls(call).await as u64, times + 1, "{call}");
    rig.finish();
    took
}

#[tokio::test(flavor = "multi_thread")]
async fn each_iam_call_throttled_once_or_in_a_burst_still_succeeds() {
    for times in [1, 5] {
        let runs = CALLS.map(|call| tokio::spawn(throttled_then_answered(call, times)));
        let mut slowest = Duration::ZERO;
        for run in runs {
            slowest = slowest.max(run.await.unwrap());
        }
        held(
            &format!(
                "IAM and CloudFormation throttle each of the function's 8 calls {times} time(s), then answer (30 s deadline)"
            ),
            &format!(
                "SUCCESS every time, each call made {} times; slowest answer in {{ms}} ms",
                times + 1
            ),
            slowest,
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_iam_call_throttled_past_the_deadline_fails_naming_it() {
    let runs = CALLS.map(|call| {
        tokio::spawn(async move {
            let rig = Rig::start(vec![]).await;
            let path = Path::of(call);
            mount(&rig.iam, call, throttling(call)).await;
            path.mount(&rig.iam).await;

            let (_, took) = rig
                .invoke_with(path.request_type(), path.properties(), 5 * SECOND)
                .await;

            let answer = rig.answer().await;
            assert_eq!(answer["Status"], "FAILED", "{call}: {answer}");
            let reason = answer["Reason"].as_str().unwrap();
            assert!(
                reason.starts_with("timed out while ")
                    && reason.contains(&format!("{}:{call}", api(call)))
                    && reason.contains(
                        "(the last: Throttling: Rate exceeded), before the Lambda deadline"
                    ),
                "{call}: {reason}"
            );
            assert!(rig.iam_calls(call).await > 3, "{call}");
            rig.finish();
            took
        })
    });
    let mut slowest = Duration::ZERO;
    for run in runs {
        slowest = slowest.max(run.await.unwrap());
    }
    held(
        "IAM and CloudFormation throttle each of the function's 8 calls on every attempt (5 s deadline)",
        "FAILED before the deadline, the Reason naming the call and \"Throttling: Rate exceeded\"; more than 3 attempts each; slowest in {ms} ms",
        slowest,
    );
}

/// IAM with an account-wide rate limit: more than `per_second` calls in a second are
/// throttled. It creates any service's role (`svc<N>.amazonaws.com` → `AWSServiceRoleForSvc<N>`)
/// and accepts its tags.
struct RateLimitedIam {
    per_second: usize,
    recent: Mutex<VecDeque<Instant>>,
    throttled: AtomicUsize,
}

/// What wiremock holds: the limit is shared with the test, which reads its count.
struct Limited(Arc<RateLimitedIam>);

impl Respond for Limited {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = Instant::now();
        {
            let mut recent = self.0.recent.lock().unwrap();
            while recent.front().is_some_and(|t| now - *t > SECOND) {
                recent.pop_front();
            }
            if recent.len() >= self.0.per_second {
                self.0.throttled.fetch_add(1, Ordering::SeqCst);
                return throttling("CreateServiceLinkedRole");
            }
            recent.push_back(now);
        }
        let body = String::from_utf8_lossy(&request.body);
        match action_of(&body) {
            Some("CreateServiceLinkedRole") => {
                let service = body
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("AWSServiceName="))
                    .unwrap_or_default();
                let n = service
                    .trim_start_matches("svc")
                    .split('.')
                    .next()
                    .unwrap_or_default();
                let role = role_xml(service, &format!("AWSServiceRoleForSvc{n}"), &[]);
                ok("CreateServiceLinkedRole", &role)
            }
            Some("TagRole") => ok_empty("TagRole"),
            other => error(400, "InvalidAction", &format!("not played here: {other:?}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_roles_at_once_against_a_throttling_iam_all_succeed() {
    const ROLES: usize = 20;
    let (iam, s3) = (MockServer::start().await, MockServer::start().await);
    cfn::mount_response_url(&s3, vec![]).await;
    let limit = Arc::new(RateLimitedIam {
        per_second: 4,
        recent: Mutex::new(VecDeque::new()),
        throttled: AtomicUsize::new(0),
    });
    Mock::given(method("POST"))
        .respond_with(Limited(limit.clone()))
        .mount(&iam)
        .await;
    let api = RuntimeApi::start().await;
    let env = runtime_api::loopback_env(&iam.uri(), &s3.uri());
    // Lambda scales out: one process per concurrent invocation.
    let mut functions: Vec<Function> = (0..ROLES).map(|_| Function::start(&api, &env)).collect();
    api.wait_for_pollers(ROLES).await;

    let started = Instant::now();
    let invocations = (0..ROLES).map(|n| {
        let api = api.clone();
        let url = cfn::response_url(&s3.uri());
        let props = json!({"AWSServiceName": format!("svc{n}.amazonaws.com"), "PropagationWaitSeconds": "0"});
        let mut event = cfn::request("Create", &url, props);
        event["LogicalResourceId"] = json!(format!("Role{n}"));
        tokio::spawn(async move { api.invoke(&event, 60 * SECOND).await })
    });
    for invocation in invocations.collect::<Vec<_>>() {
        let outcome = invocation.await.unwrap();
        assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
    }
    let took = started.elapsed();

    let answers: Vec<Value> = bodies(&s3)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(answers.len(), ROLES);
    for answer in &answers {
        assert_eq!(answer["Status"], "SUCCESS", "{answer}");
        assert_eq!(answer["Data"]["Created"], "true", "{answer}");
    }
    let throttled = limit.throttled.load(Ordering::SeqCst);
    assert!(
        throttled >= ROLES,
        "IAM throttled only {throttled} calls: no burst was tried"
    );
    for function in &mut functions {
        function.assert_sound();
    }
    held(
        "20 function processes create 20 roles at once; IAM allows 4 calls a second and throttles the rest",
        &format!(
            "20 SUCCESS, every role created and tagged, after {throttled} throttled calls, in {{ms}} ms"
        ),
        took,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_roles_is_read_to_its_last_page() {
    let rig = Rig::start(vec![]).await;
    let reworded = error(400, "InvalidInput", "The role has been taken.");
    mount(&rig.iam, "CreateServiceLinkedRole", reworded).await;
    let asg = "autoscaling.amazonaws.com";
    let first_page = listed(asg, &["AWSServiceRoleForAutoScaling_a"], Some("page2"));
    let last_page = listed(asg, &["AWSServiceRoleForAutoScaling_team"], None);
    action("ListRoles")
        .and(wiremock::matchers::body_string_contains("Marker=page2"))
        .respond_with(last_page)
        .mount(&rig.iam)
        .await;
    mount(&rig.iam, "ListRoles", first_page).await;
    let team = role_xml(asg, "AWSServiceRoleForAutoScaling_team", &[]);
    mount(&rig.iam, "GetRole", ok("GetRole", &team)).await;
    let props =
        json!({"AWSServiceName": asg, "CustomSuffix": "team", "PropagationWaitSeconds": "0"});

    let (_, took) = rig.invoke_with("Create", props, 10 * SECOND).await;

    let answer = rig.answer().await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["PhysicalResourceId"],
        "AWSServiceRoleForAutoScaling_team"
    );
    assert_eq!(rig.iam_calls("ListRoles").await, 2);
    held(
        "IAM says the role is taken without naming it, and ListRoles answers in two pages, the role on the second",
        "both pages read, the suffixed role on the second adopted, SUCCESS in {ms} ms",
        took,
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_taken_before_get_role_can_see_it_is_adopted_once_visible() {
    let rig = Rig::start(vec![]).await;
    mount(&rig.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
    let not_yet = error(
        404,
        "NoSuchEntity",
        "The role with name AWSServiceRoleForECS cannot be found.",
    );
    action("GetRole")
        .respond_with(not_yet)
        .up_to_n_times(2)
        .mount(&rig.iam)
        .await;
    mount(
        &rig.iam,
        "GetRole",
        ok("GetRole", &role_xml(ECS, ECS_ROLE, &[])),
    )
    .await;

    let (_, took) = rig.invoke("Create", 15 * SECOND).await;

    let answer = rig.answer().await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"]["Created"], "false");
    assert_eq!(rig.iam_calls("GetRole").await, 3);
    held(
        "IAM says the role has been taken, and GetRole does not find it twice (another replica has not seen it yet)",
        "looked up again with pauses, adopted on the third GetRole, SUCCESS in {ms} ms",
        took,
    );
    rig.finish();
}
