//! The shipped policy (tests/fixtures/function-policy.json, from template.yaml) read as the IAM
//! gate reads it, on the calls the function makes: what IAM allows the function, and what it
//! refuses, for the default AllowedServices and for a restricted one. The gate judges the binary
//! suites by these same rules, so each refusal here is one a deploy would meet.

mod support;

use support::iam_gate;

use iam_gate::{Call, Policy};
use std::collections::HashMap;

const ACCOUNT: &str = "123456789012";

fn role(service: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/{name}")
}

fn call(action: &str, resource: &str, context: &[(&str, &[&str])]) -> Call {
    Call {
        action: action.into(),
        resource: resource.into(),
        context: context
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect::<HashMap<_, _>>(),
    }
}

const MARK: &[&str] = &[
    "upsert-slr:stack-id",
    "upsert-slr:logical-id",
    "upsert-slr:request-id",
    "upsert-slr:removal-policy",
];
const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1";

#[test]
fn every_service_linked_role_may_be_read_whatever_allowed_services_says() {
    for variant in ["any-service", "ecs-only"] {
        let policy = Policy::shipped(variant);
        for (service, name) in [
            ("ecs.amazonaws.com", "AWSServiceRoleForECS"),
            (
                "es.amazonaws.com",
                "AWSServiceRoleForAmazonElasticsearchService",
            ),
            ("redshift.amazonaws.com", "AWSServiceRoleForRedshift"),
        ] {
            for action in ["iam:GetRole", "iam:GetServiceLinkedRoleDeletionStatus"] {
                assert!(
                    policy.allows(&call(action, &role(service, name), &[]), ACCOUNT),
                    "{variant}: {action} on {name}"
                );
            }
        }
        // A name that matches no role has no path: IAM refuses, and the function must decide
        // from ListRoles, which is granted on "*".
        let missing = format!("arn:aws:iam::{ACCOUNT}:role/AWSServiceRoleForECS");
        assert!(
            !policy.allows(&call("iam:GetRole", &missing, &[]), ACCOUNT),
            "{variant}"
        );
        assert!(
            policy.allows(&call("iam:ListRoles", "*", &[]), ACCOUNT),
            "{variant}"
        );
        // Another account's roles are out of reach.
        let elsewhere =
            role("ecs.amazonaws.com", "AWSServiceRoleForECS").replace(ACCOUNT, "210987654321");
        assert!(
            !policy.allows(&call("iam:GetRole", &elsewhere, &[]), ACCOUNT),
            "{variant}"
        );
    }
}

#[test]
fn creation_is_bounded_by_allowed_services() {
    let create = |service: &str| {
        call(
            "iam:CreateServiceLinkedRole",
            &role(service, "new-role"),
            &[("iam:AWSServiceName", &[service])],
        )
    };
    let any = Policy::shipped("any-service");
    let ecs = Policy::shipped("ecs-only");
    assert!(any.allows(&create("redshift.amazonaws.com"), ACCOUNT));
    assert!(ecs.allows(&create("ecs.amazonaws.com"), ACCOUNT));
    assert!(!ecs.allows(&create("redshift.amazonaws.com"), ACCOUNT));
}

#[test]
fn only_an_unmarked_role_takes_the_mark_and_only_a_marked_one_its_policy_update() {
    let ecs_role = role("ecs.amazonaws.com", "AWSServiceRoleForECS");
    let tag = |keys: &[&str], marked: bool| {
        let mut context: Vec<(&str, &[&str])> = vec![("aws:TagKeys", keys)];
        if marked {
            context.push(("aws:ResourceTag/upsert-slr:stack-id", &[STACK]));
        }
        call("iam:TagRole", &ecs_role, &context)
    };
    for variant in ["any-service", "ecs-only"] {
        let policy = Policy::shipped(variant);
        assert!(
            policy.allows(&tag(MARK, false), ACCOUNT),
            "{variant}: the mark on a new role"
        );
        assert!(
            !policy.allows(&tag(MARK, true), ACCOUNT),
            "{variant}: never a second mark"
        );
        assert!(
            !policy.allows(&tag(&["owner"], false), ACCOUNT),
            "{variant}: no other key"
        );
        let policy_tag = &["upsert-slr:removal-policy"][..];
        assert!(
            policy.allows(&tag(policy_tag, true), ACCOUNT),
            "{variant}: its own role's policy"
        );
        let other_stack = call(
            "iam:TagRole",
            &ecs_role,
            &[
                ("aws:TagKeys", policy_tag),
                (
                    "aws:ResourceTag/upsert-slr:stack-id",
                    &["arn:aws:cloudformation:us-east-1:210987654321:stack/x/1"],
                ),
            ],
        );
        assert!(
            !policy.allows(&other_stack, ACCOUNT),
            "{variant}: another account's stack's role"
        );
    }
    // Outside AllowedServices nothing is tagged.
    let redshift = call(
        "iam:TagRole",
        &role("redshift.amazonaws.com", "AWSServiceRoleForRedshift"),
        &[("aws:TagKeys", MARK)],
    );
    assert!(!Policy::shipped("ecs-only").allows(&redshift, ACCOUNT));
}

#[test]
fn a_role_is_changed_or_deleted_only_with_a_stacks_mark() {
    let ecs_role = role("ecs.amazonaws.com", "AWSServiceRoleForECS");
    for variant in ["any-service", "ecs-only"] {
        let policy = Policy::shipped(variant);
        for action in ["iam:DeleteServiceLinkedRole", "iam:UpdateRoleDescription"] {
            let marked = call(
                action,
                &ecs_role,
                &[("aws:ResourceTag/upsert-slr:stack-id", &[STACK])],
            );
            assert!(policy.allows(&marked, ACCOUNT), "{variant}: {action}");
            assert!(
                !policy.allows(&call(action, &ecs_role, &[]), ACCOUNT),
                "{variant}: {action} unmarked"
            );
        }
        assert!(!policy.allows(
            &call(
                "iam:DeleteRole",
                &ecs_role,
                &[("aws:ResourceTag/upsert-slr:stack-id", &[STACK])]
            ),
            ACCOUNT
        ));
    }
}

#[test]
fn a_role_marked_for_a_terraform_owner_is_changed_and_deleted_as_a_stacks_is() {
    let ecs_role = role("ecs.amazonaws.com", "AWSServiceRoleForECS");
    let marked = |action: &str, mark: &'static [&'static str]| {
        call(
            action,
            &ecs_role,
            &[("aws:ResourceTag/upsert-slr:stack-id", mark)],
        )
    };
    for variant in ["any-service", "ecs-only"] {
        let policy = Policy::shipped(variant);
        for action in ["iam:DeleteServiceLinkedRole", "iam:UpdateRoleDescription"] {
            assert!(
                policy.allows(&marked(action, &["terraform"]), ACCOUNT),
                "{variant}: {action}"
            );
            // The mark is the word, not a pattern: nothing else passes for it.
            for not_the_mark in [&["terraform-x"][..], &["Terraform"], &["terraformx/1"]] {
                assert!(
                    !policy.allows(&marked(action, not_the_mark), ACCOUNT),
                    "{variant}: {action} {not_the_mark:?}"
                );
            }
        }
        let record = call(
            "iam:TagRole",
            &ecs_role,
            &[
                ("aws:TagKeys", &["upsert-slr:removal-policy"][..]),
                ("aws:ResourceTag/upsert-slr:stack-id", &["terraform"]),
            ],
        );
        assert!(policy.allows(&record, ACCOUNT), "{variant}: its policy tag");
    }
}

#[test]
fn only_this_accounts_stacks_are_read_and_never_changed() {
    let policy = Policy::shipped("any-service");
    for action in [
        "cloudformation:DescribeStacks",
        "cloudformation:ListStackResources",
    ] {
        assert!(
            policy.allows(&call(action, STACK, &[]), ACCOUNT),
            "{action}"
        );
        let theirs = STACK.replace(ACCOUNT, "210987654321");
        assert!(
            !policy.allows(&call(action, &theirs, &[]), ACCOUNT),
            "{action} elsewhere"
        );
    }
    assert!(!policy.allows(&call("cloudformation:DeleteStack", STACK, &[]), ACCOUNT));
    assert!(!policy.allows(&call("cloudformation:DescribeStacks", "*", &[]), ACCOUNT));
}

#[test]
fn a_narrowed_or_missing_statement_is_judged_as_such() {
    let es = role(
        "es.amazonaws.com",
        "AWSServiceRoleForAmazonElasticsearchService",
    );
    let narrowed = Policy::shipped("ecs-only").narrowed(
        "ReadServiceLinkedRoles",
        &["arn:*:iam::*:role/aws-service-role/ecs.amazonaws.com/*"],
    );
    assert!(!narrowed.allows(&call("iam:GetRole", &es, &[]), ACCOUNT));
    let without = Policy::shipped("any-service").without("ReadOwnStacks");
    assert!(!without.allows(&call("cloudformation:DescribeStacks", STACK, &[]), ACCOUNT));
}
