//! IAM's answers as they come over the wire (query protocol, XML), for replay with wiremock.

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

/// IAM answering every deletion-status poll (not yet answered otherwise) with SUCCEEDED.
pub async fn mount_deletion_finished(iam: &MockServer) {
    mount(
        iam,
        "GetServiceLinkedRoleDeletionStatus",
        deletion_status("SUCCEEDED", ""),
    )
    .await;
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

/// IAM's AccessDenied, worded as IAM words it for the function's role.
pub fn access_denied(action: &str, resource: &str) -> ResponseTemplate {
    error(
        403,
        "AccessDenied",
        &format!(
            "User: arn:aws:sts::{ACCOUNT}:assumed-role/upsert-slr-FunctionRole-1A2B3C/upsert-slr-Function-4D5E6F \
             is not authorized to perform: {action} on resource: {resource} because no \
             identity-based policy allows the {action} action"
        ),
    )
}

/// What IAM answers a GetRole of a name that matches no role, under a policy that names only
/// service-linked paths: the resource is the name without a path.
pub fn get_role_denied(name: &str) -> ResponseTemplate {
    access_denied("iam:GetRole", &format!("role {name}"))
}

/// ListRoles under a path, listing `roles` (service, name).
pub fn roles_listed(roles: &[(&str, &str)]) -> ResponseTemplate {
    let members: String = roles
        .iter()
        .map(|(service, name)| {
            role_xml(service, name, &[])
                .replace("<Role>", "<member>")
                .replace("</Role>", "</member>")
        })
        .collect();
    ok(
        "ListRoles",
        &format!("<IsTruncated>false</IsTruncated><Roles>{members}</Roles>"),
    )
}

// CloudFormation's query API, as it answers DescribeStacks and ListStackResources.

const CFN_NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

fn cfn_ok(action: &str, result: &str) -> ResponseTemplate {
    xml(
        200,
        format!(
            "<{action}Response xmlns=\"{CFN_NS}\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata>\
             </{action}Response>"
        ),
    )
}

pub fn cfn_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    xml(
        status,
        format!(
            "<ErrorResponse xmlns=\"{CFN_NS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{message}</Message></Error><RequestId>5ccc7dcd-example</RequestId></ErrorResponse>"
        ),
    )
}

/// DescribeStacks of `stack_id`, in `status`.
pub fn stack_in(stack_id: &str, status: &str) -> ResponseTemplate {
    let name = stack_id.split('/').nth(1).unwrap_or("stack");
    cfn_ok(
        "DescribeStacks",
        &format!(
            "<Stacks><member><StackId>{stack_id}</StackId><StackName>{name}</StackName>\
             <CreationTime>2026-11-23T04:00:00.000Z</CreationTime><StackStatus>{status}</StackStatus>\
             <DisableRollback>false</DisableRollback><Tags/><Outputs/><Parameters/></member></Stacks>"
        ),
    )
}

/// What CloudFormation answers DescribeStacks of a stack it does not have.
pub fn no_such_stack(stack_id: &str) -> ResponseTemplate {
    cfn_error(
        400,
        "ValidationError",
        &format!("Stack with id {stack_id} does not exist"),
    )
}

/// ListStackResources: each resource as (logical id, physical id, status).
pub fn stack_resources(resources: &[(&str, &str, &str)]) -> ResponseTemplate {
    let members: String = resources
        .iter()
        .map(|(logical, physical, status)| {
            format!(
                "<member><LogicalResourceId>{logical}</LogicalResourceId>\
                 <PhysicalResourceId>{physical}</PhysicalResourceId>\
                 <ResourceType>Custom::ServiceLinkedRole</ResourceType>\
                 <LastUpdatedTimestamp>2026-11-23T04:05:00.000Z</LastUpdatedTimestamp>\
                 <ResourceStatus>{status}</ResourceStatus>\
                 <DriftInformation><StackResourceDriftStatus>NOT_CHECKED</StackResourceDriftStatus></DriftInformation>\
                 </member>"
            )
        })
        .collect();
    cfn_ok(
        "ListStackResources",
        &format!("<StackResourceSummaries>{members}</StackResourceSummaries>"),
    )
}

/// The function's dependencies with IAM and CloudFormation at `endpoint` (one wiremock server
/// answers both: their actions differ), the settings in `vars`, and `known` as the process's
/// remembered names. One attempt per call, as the function runs.
pub fn wire_deps(
    endpoint: &str,
    vars: Vec<(&'static str, String)>,
    known: upsert_slr::KnownNames,
) -> upsert_slr::Deps {
    use aws_credential_types::provider::SharedCredentialsProvider;
    use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    let http = upsert_slr::adapters::clients::http_client().unwrap();
    let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
    let iam = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(upsert_slr::adapters::clients::SdkHttpClient::new(
            http.clone(),
        ))
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials.clone())
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .build();
    let stacks = upsert_slr::adapters::cloudformation::CloudFormation::new(
        http.clone(),
        Some(SharedCredentialsProvider::new(credentials)),
        Some("us-east-1".into()),
        Some(endpoint.to_string()),
    );
    upsert_slr::Deps {
        iam: aws_sdk_iam::Client::from_conf(iam),
        stacks,
        http,
        settings: std::sync::Arc::new(upsert_slr::config::Settings::from_lookup(|k| {
            vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        })),
        known_names: known,
    }
}

/// A query-API request whose form sets `key` to exactly `value` (`RoleName=AWSServiceRoleForECS`
/// does not match `AWSServiceRoleForECS_team-a`).
pub struct FormParam(pub &'static str, pub String);

impl wiremock::Match for FormParam {
    fn matches(&self, request: &wiremock::Request) -> bool {
        form_urlencoded::parse(&request.body).any(|(k, v)| k == self.0 && v == self.1.as_str())
    }
}

/// `action` for the role named `name` only.
pub fn action_on(name: &str, role: &str) -> MockBuilder {
    action(name).and(FormParam("RoleName", role.to_string()))
}

/// How IAM says a role does not exist: `NoSuchEntity`, or (under a policy that names only
/// service-linked paths, the role having no path) `AccessDenied`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Absent {
    NoSuchEntity,
    AccessDenied,
}

pub const ABSENT: [Absent; 2] = [Absent::NoSuchEntity, Absent::AccessDenied];

impl Absent {
    /// GetRole's answer for `name`.
    pub fn get_role(self, name: &str) -> ResponseTemplate {
        match self {
            Absent::NoSuchEntity => error(
                404,
                "NoSuchEntity",
                &format!("The role with name {name} cannot be found."),
            ),
            Absent::AccessDenied => get_role_denied(name),
        }
    }
}

/// IAM with no role named `name`, saying so `absent`'s way; ListRoles (which an AccessDenied
/// sends the function to) lists nothing under any path unless a test mounts more.
pub async fn mount_absent(iam: &MockServer, absent: Absent, name: &str) {
    action_on("GetRole", name)
        .respond_with(absent.get_role(name))
        .mount(iam)
        .await;
    action("ListRoles")
        .respond_with(roles_listed(&[]))
        .with_priority(10)
        .mount(iam)
        .await;
}
