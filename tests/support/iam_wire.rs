//! IAM's answers as they come over the wire (query protocol, XML), for replay with wiremock.

// Shared by several test crates, each using a part.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

pub const ACCOUNT: &str = "123456789012";
const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// Matches one IAM action (the query protocol names it in the form body).
pub fn action(name: &str) -> MockBuilder {
    Mock::given(method("POST")).and(body_string_contains(format!("Action={name}&")))
}

/// The bodies of the requests `server` received, in order, as text.
pub async fn bodies(server: &MockServer) -> Vec<String> {
    let requests = server
        .received_requests()
        .await
        .expect("wiremock records requests");
    let text = |r: &wiremock::Request| String::from_utf8_lossy(&r.body).into_owned();
    requests.iter().map(text).collect()
}

/// The IAM action a request body names.
pub fn action_of(body: &str) -> Option<&str> {
    body.split('&').find_map(|kv| kv.strip_prefix("Action="))
}

/// IAM answering every call of the action `name` with `reply`.
pub async fn mount(iam: &MockServer, name: &str, reply: ResponseTemplate) {
    action(name).respond_with(reply).mount(iam).await;
}

pub fn ok(action: &str, result: &str) -> ResponseTemplate {
    xml(
        200,
        format!(
            "<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\
             </{action}Response>"
        ),
    )
}

/// An empty successful answer (TagRole, UpdateRoleDescription).
pub fn ok_empty(action: &str) -> ResponseTemplate {
    xml(
        200,
        format!(
            "<{action}Response xmlns=\"{NS}\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
        ),
    )
}

pub fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    xml(
        status,
        format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>{kind}</Type><Code>{code}</Code>\
             <Message>{message}</Message></Error><RequestId>4d1c2bd7-EXAMPLE</RequestId></ErrorResponse>"
        ),
    )
}

fn xml(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "text/xml")
        .set_body_string(body)
}

/// A role created long ago (2026-11-23T04:00:00Z), as GetRole and CreateServiceLinkedRole show it.
pub fn role_xml(service: &str, name: &str, tags: &[(&str, &str)]) -> String {
    role_xml_created(service, name, tags, "2026-11-23T04:00:00Z")
}

/// A role whose CreateDate is `created` (IAM gives whole seconds).
pub fn role_xml_created_at(service: &str, name: &str, created: SystemTime) -> String {
    role_xml_created(service, name, &[], &iso8601(created))
}

/// `time` the way IAM writes it, truncated to the second.
pub fn iso8601(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).unwrap().as_secs();
    aws_smithy_types::DateTime::from_secs(seconds as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
}

fn role_xml_created(service: &str, name: &str, tags: &[(&str, &str)], created: &str) -> String {
    let tags: String = tags
        .iter()
        .map(|(k, v)| format!("<member><Key>{k}</Key><Value>{v}</Value></member>"))
        .collect();
    format!(
        "<Role><Path>/aws-service-role/{service}/</Path><RoleName>{name}</RoleName>\
         <RoleId>AROAEXAMPLE</RoleId>\
         <Arn>arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/{name}</Arn>\
         <CreateDate>{created}</CreateDate>\
         <AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%7D</AssumeRolePolicyDocument>\
         <Tags>{tags}</Tags></Role>"
    )
}

pub fn arn(service: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/{name}")
}

pub fn taken(name: &str) -> ResponseTemplate {
    error(
        400,
        "InvalidInput",
        &format!(
            "Service role name {name} has been taken in this account, please try a different suffix."
        ),
    )
}

/// What IAM says to a CustomSuffix for a service that takes none.
pub fn suffix_not_allowed(service: &str) -> ResponseTemplate {
    error(
        400,
        "InvalidInput",
        &format!("Custom suffix is not allowed for {service}"),
    )
}

pub fn deletion_status(status: &str, reason: &str) -> ResponseTemplate {
    ok(
        "GetServiceLinkedRoleDeletionStatus",
        &format!("<Status>{status}</Status>{reason}"),
    )
}

/// IAM creating the ECS role and accepting its ownership tags.
pub async fn mount_created(iam: &MockServer) {
    let role = role_xml("ecs.amazonaws.com", "AWSServiceRoleForECS", &[]);
    mount(
        iam,
        "CreateServiceLinkedRole",
        ok("CreateServiceLinkedRole", &role),
    )
    .await;
    mount(iam, "TagRole", ok_empty("TagRole")).await;
}
