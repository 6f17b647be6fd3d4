//! How a role is found and how long it is waited for, against IAM's exact wire answers
//! replayed by wiremock: a warm function's remembered names, the propagation wait of a role
//! adopted young (counted from its CreateDate), and the roles that serve instead of a service's
//! own (OpenSearch and the legacy Elasticsearch role).

use crate::support::{cfn, iam_wire, replay_harness};

use cfn::{
    ECS, ECS_ROLE, ELASTICSEARCH, ELASTICSEARCH_ROLE, FUNCTION_ARN, OPENSEARCH, OPENSEARCH_ROLE,
    assert_answer, ecs_props,
};
use iam_wire::*;
use replay_harness::*;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::matchers::body_string_contains;

#[tokio::test]
async fn a_warm_function_finds_a_role_it_has_seen_with_one_get_role() {
    let h = Harness::new().await;
    mount_taken(&h, &role_xml(ECS, ECS_ROLE, &[])).await;

    h.create(ecs_props()).await;
    let mut second_stack = h.event("Create", ecs_props());
    second_stack["RequestId"] = json!("b6a3c1d2-0002");
    second_stack["StackId"] = json!("arn:aws:cloudformation:us-east-1:123456789012:stack/other/2");
    h.invoke(second_stack).await.unwrap();

    let answers = h.answers().await;
    assert_eq!(
        answers[0]["Data"], answers[1]["Data"],
        "the same role, adopted both times"
    );
    assert_eq!(answers[1]["Data"]["Created"], "false");
    assert_eq!(answers[1]["Data"]["Arn"], arn(ECS, ECS_ROLE));
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole", "GetRole"]
    );
}

#[tokio::test]
async fn a_known_name_whose_role_is_gone_falls_back_to_creating_it() {
    let h = Harness::new().await;
    mount_created(&h.iam).await;
    action("GetRole")
        .respond_with(error(
            404,
            "NoSuchEntity",
            "The role with name AWSServiceRoleForECS cannot be found.",
        ))
        .mount(&h.iam)
        .await;

    h.create(ecs_props()).await;
    let mut again = h.event("Create", ecs_props());
    again["RequestId"] = json!("b6a3c1d2-0002");
    h.invoke(again).await.unwrap();

    let answers = h.answers().await;
    assert!(
        answers.iter().all(|a| a["Data"]["Created"] == "true"),
        "{answers:?}"
    );
    assert_eq!(
        h.iam_actions().await,
        [
            "CreateServiceLinkedRole",
            "TagRole",
            "GetRole",
            "CreateServiceLinkedRole",
            "TagRole"
        ]
    );
}

// Propagation is measured from the role's creation, whoever created it: a role adopted moments
// after another stack (or the service itself) created it still gets the rest of the wait.

/// The whole seconds in "created N s ago; waited M s for IAM propagation". IAM's CreateDate is
/// whole seconds, so a role stamped N s ago may be up to a second younger: the age shown, and
/// the wait, count from the end of that second.
fn adopted_young(reason: &str) -> (u64, u64) {
    let rest = reason
        .strip_prefix("adopted AWSServiceRoleForECS, created ")
        .unwrap_or_else(|| panic!("{reason}"));
    let (age, rest) = rest.split_once(" s ago; waited ").expect(reason);
    let waited = rest.strip_suffix(" s for IAM propagation").expect(reason);
    (age.parse().expect(reason), waited.parse().expect(reason))
}

#[tokio::test]
async fn a_role_adopted_two_seconds_after_its_creation_waits_out_the_rest() {
    let h = Harness::new().await;
    let created = SystemTime::now() - Duration::from_secs(2);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;

    let started = std::time::Instant::now();
    let props = json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "5"});
    h.invoke(h.event("Create", props)).await.unwrap();
    let elapsed = started.elapsed();

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(a["Data"]["Created"], "false", "adopted, not created");
    let (age, waited) = adopted_young(a["Reason"].as_str().unwrap());
    // Stamped 2 s back, read as the end of its second: 1 s old, or 2 when the machine is so
    // busy that a second passed before the function read it; the age and the wait make 5.
    assert!((1..=2).contains(&age), "{a}");
    assert!((4..=5).contains(&(age + waited)), "{a}");
    assert!(
        elapsed >= Duration::from_secs(2),
        "answered after {elapsed:?}"
    );
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole"],
        "CreateDate comes with GetRole: no extra call"
    );
}

#[tokio::test]
async fn a_role_two_hours_old_is_adopted_at_once() {
    let mut h = Harness::new().await;
    h.deadline = Duration::from_secs(20);
    let created = SystemTime::now() - Duration::from_secs(2 * 3600);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;

    // A 900 s wait would outlast the 20 s deadline and say so in the Reason.
    let props = json!({"AWSServiceName": ECS, "PropagationWaitSeconds": 900});
    h.invoke(h.event("Create", props)).await.unwrap();

    let a = h.answer().await;
    assert_answer(&a, "SUCCESS", "adopted existing AWSServiceRoleForECS");
}

#[tokio::test]
async fn a_create_date_ahead_of_the_clock_waits_the_whole_wait_from_now_and_no_longer() {
    let h = Harness::new().await;
    let created = SystemTime::now() + Duration::from_secs(3600);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;

    let started = std::time::Instant::now();
    let props = json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "2"});
    h.invoke(h.event("Create", props)).await.unwrap();

    let a = h.answer().await;
    assert_answer(
        &a,
        "SUCCESS",
        "adopted AWSServiceRoleForECS, created 0 s ago (its CreateDate is ahead of this \
         function's clock); waited 2 s for IAM propagation",
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn a_warm_function_adopting_by_known_name_waits_the_same() {
    let h = Harness::new().await;
    action("CreateServiceLinkedRole")
        .respond_with(taken(ECS_ROLE))
        .expect(1)
        .mount(&h.iam)
        .await;
    action("GetRole")
        .respond_with(ok("GetRole", &role_xml(ECS, ECS_ROLE, &[])))
        .up_to_n_times(1)
        .mount(&h.iam)
        .await;
    h.create(ecs_props()).await;

    // Deleted and created again by someone else a second ago.
    let created = SystemTime::now() - Duration::from_secs(1);
    mount(
        &h.iam,
        "GetRole",
        ok("GetRole", &role_xml_created_at(ECS, ECS_ROLE, created)),
    )
    .await;
    let mut second_stack = h.event(
        "Create",
        json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "3"}),
    );
    second_stack["RequestId"] = json!("b6a3c1d2-0002");
    let started = std::time::Instant::now();
    h.invoke(second_stack).await.unwrap();

    let answers = h.answers().await;
    let (age, waited) = adopted_young(answers[1]["Reason"].as_str().unwrap());
    // 0 s old (read as the end of its second), 1 on a machine too busy to answer at once;
    // the age and the wait make the 3 s.
    assert!(age <= 1, "{}", answers[1]);
    assert!((2..=3).contains(&(age + waited)), "{}", answers[1]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole", "GetRole"],
        "the known name needs one GetRole, which gives the CreateDate"
    );
}

#[tokio::test]
async fn an_update_that_adopts_a_young_role_waits_too() {
    let h = Harness::new().await;
    let created = SystemTime::now() - Duration::from_secs(1);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;
    let mut update = h.event(
        "Update",
        json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "2"}),
    );
    update["PhysicalResourceId"] = json!("AWSServiceRoleForAutoScaling");
    update["OldResourceProperties"] = json!({"AWSServiceName": "autoscaling.amazonaws.com"});

    h.invoke(update).await.unwrap();

    let a = h.answer().await;
    assert_eq!(a["PhysicalResourceId"], ECS_ROLE, "another role: replaced");
    let (age, waited) = adopted_young(a["Reason"].as_str().unwrap());
    // 0 s old (read as the end of its second), 1 on a machine too busy to answer at once;
    // the age and the wait make the 2 s.
    assert!(age <= 1, "{a}");
    assert!((1..=2).contains(&(age + waited)), "{a}");
}

#[tokio::test]
async fn behind_is_complete_a_young_adopted_role_waits_until_its_creation_plus_the_wait() {
    let h = behind_is_complete().await;
    let created = SystemTime::now() - Duration::from_secs(2);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;
    let mut request = h.event(
        "Create",
        json!({"AWSServiceName": ECS, "PropagationWaitSeconds": 600}),
    );
    request["ServiceToken"] = json!(FRAMEWORK_ARN);

    let on_event = h.invoke(request.clone()).await.unwrap();
    assert_eq!(on_event["Data"]["Created"], "false");
    let created_s = created.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(
        on_event["UpsertSlrWait"]["UntilEpochMs"],
        json!((created_s + 1 + 600) * 1000),
        "the end of CreateDate's second, plus the wait"
    );
    let waiting = h.is_complete(&request, &on_event).await;
    assert_eq!(waiting, json!({"IsComplete": false}));
}

// An OpenSearch domain is served by the OpenSearch role or by the legacy Elasticsearch one
// (slr-needs.json's satisfiedBy): the function looks both up before creating anything, so an
// account holding only the legacy role never sees a creation fail or a second role appear.

/// The service's role with no propagation wait, as CloudFormation sends it.
fn props_of(service: &str) -> Value {
    json!({"ServiceToken": FUNCTION_ARN, "AWSServiceName": service, "PropagationWaitSeconds": "0"})
}

/// GetRole finding `role` (service, name) when asked for its name; every other name is missing.
async fn mount_only_role(h: &Harness, role: Option<(&str, &str)>) {
    if let Some((service, name)) = role {
        action("GetRole")
            .and(body_string_contains(format!("RoleName={name}")))
            .respond_with(ok("GetRole", &role_xml(service, name, &[])))
            .mount(&h.iam)
            .await;
    }
    for name in [OPENSEARCH_ROLE, ELASTICSEARCH_ROLE] {
        action("GetRole")
            .and(body_string_contains(format!("RoleName={name}")))
            .respond_with(error(
                404,
                "NoSuchEntity",
                &format!("The role with name {name} cannot be found."),
            ))
            .mount(&h.iam)
            .await;
    }
}

/// The names GetRole was asked for, in order.
async fn get_role_names(h: &Harness) -> Vec<String> {
    bodies(&h.iam)
        .await
        .iter()
        .filter(|b| action_of(b) == Some("GetRole"))
        .filter_map(|b| {
            b.split('&')
                .find_map(|kv| kv.strip_prefix("RoleName="))
                .map(String::from)
        })
        .collect()
}

#[tokio::test]
async fn an_opensearch_role_request_adopts_the_legacy_elasticsearch_role_when_it_is_the_only_one() {
    let h = Harness::new().await;
    mount_only_role(&h, Some((ELASTICSEARCH, ELASTICSEARCH_ROLE))).await;

    h.create(props_of(OPENSEARCH)).await;
    // A warm function goes straight to the role it adopted.
    let mut again = h.event("Create", props_of(OPENSEARCH));
    again["RequestId"] = json!("b6a3c1d2-0002");
    h.invoke(again).await.unwrap();

    let answers = h.answers().await;
    for a in &answers {
        assert_eq!(a["Status"], "SUCCESS", "{a}");
        assert_eq!(a["PhysicalResourceId"], ELASTICSEARCH_ROLE);
        assert_eq!(
            a["Data"],
            json!({"RoleName": ELASTICSEARCH_ROLE, "Arn": arn(ELASTICSEARCH, ELASTICSEARCH_ROLE), "Created": "false"})
        );
    }
    assert_eq!(answers.len(), 2);
    assert_eq!(
        get_role_names(&h).await,
        [OPENSEARCH_ROLE, ELASTICSEARCH_ROLE, ELASTICSEARCH_ROLE]
    );
    assert_eq!(h.iam_actions().await, ["GetRole", "GetRole", "GetRole"]);
}

#[tokio::test]
async fn an_opensearch_role_request_adopts_its_own_role_first() {
    let h = Harness::new().await;
    mount_only_role(&h, Some((OPENSEARCH, OPENSEARCH_ROLE))).await;

    h.create(props_of(OPENSEARCH)).await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(a["Data"]["RoleName"], OPENSEARCH_ROLE);
    assert_eq!(a["Data"]["Created"], "false");
    assert_eq!(get_role_names(&h).await, [OPENSEARCH_ROLE]);
    assert_eq!(h.iam_actions().await, ["GetRole"]);
}

#[tokio::test]
async fn an_opensearch_role_request_creates_the_opensearch_role_when_neither_exists() {
    let h = Harness::new().await;
    mount_only_role(&h, None).await;
    action("CreateServiceLinkedRole")
        .and(body_string_contains(format!("AWSServiceName={OPENSEARCH}")))
        .respond_with(ok(
            "CreateServiceLinkedRole",
            &role_xml(OPENSEARCH, OPENSEARCH_ROLE, &[]),
        ))
        .expect(1)
        .mount(&h.iam)
        .await;
    mount(&h.iam, "TagRole", ok_empty("TagRole")).await;

    h.create(props_of(OPENSEARCH)).await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(
        a["Data"],
        json!({"RoleName": OPENSEARCH_ROLE, "Arn": arn(OPENSEARCH, OPENSEARCH_ROLE), "Created": "true"})
    );
    assert_eq!(
        h.iam_actions().await,
        ["GetRole", "GetRole", "CreateServiceLinkedRole", "TagRole"]
    );
}

#[tokio::test]
async fn an_elasticsearch_role_request_adopts_the_opensearch_role() {
    let h = Harness::new().await;
    mount_only_role(&h, Some((OPENSEARCH, OPENSEARCH_ROLE))).await;

    h.create(props_of(ELASTICSEARCH)).await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(a["Data"]["RoleName"], OPENSEARCH_ROLE);
    assert_eq!(a["Data"]["Created"], "false");
    assert_eq!(
        get_role_names(&h).await,
        [ELASTICSEARCH_ROLE, OPENSEARCH_ROLE]
    );
}

#[tokio::test]
async fn a_role_of_another_service_under_the_legacy_name_is_not_adopted() {
    let h = Harness::new().await;
    // The name, but not the path IAM gives the legacy role: not the role that serves.
    mount_only_role(&h, Some((ECS, ELASTICSEARCH_ROLE))).await;
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        ok(
            "CreateServiceLinkedRole",
            &role_xml(OPENSEARCH, OPENSEARCH_ROLE, &[]),
        ),
    )
    .await;
    mount(&h.iam, "TagRole", ok_empty("TagRole")).await;

    h.create(props_of(OPENSEARCH)).await;

    let a = h.answer().await;
    assert_eq!(a["Data"]["RoleName"], OPENSEARCH_ROLE, "{a}");
    assert_eq!(a["Data"]["Created"], "true");
}
