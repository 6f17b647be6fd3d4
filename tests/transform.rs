//! The macro's transform, replayed: each file in `tests/macro/` is a macro event as
//! CloudFormation sends it and the exact answer it must get; and every row of `slr-needs.json`
//! gets its role from a template holding one resource of its type.

use serde_json::{Value, json};
use upsert_slr::config::Settings;
use upsert_slr::protocol::macro_event;
use upsert_slr::template::Itself;
use upsert_slr::template::needs;
use upsert_slr::transform;

/// Invoked through an alias: the roles' ServiceToken is the function itself, unqualified.
const INVOKED_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr:live";
const TOKEN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr";

fn settings() -> Settings {
    // As template.yaml sets it, from TimeoutSeconds' default.
    Settings::from_lookup(|name| (name == "UPSERT_SLR_FUNCTION_TIMEOUT").then(|| "300".into()))
}

fn answer(event: &Value) -> Value {
    let settings = settings();
    let itself = Itself {
        function_arn: INVOKED_ARN,
        settings: &settings,
    };
    transform(event, itself).to_json()
}

#[test]
fn replayed_events_get_their_recorded_answers() {
    let dir = format!("{}/tests/macro", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    for path in files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let got = answer(&case["event"]);
        assert_eq!(
            got,
            case["answer"],
            "{}: got\n{}",
            path.display(),
            serde_json::to_string_pretty(&got).unwrap()
        );
    }
}

/// Each row's resource type and service with the logical id its role must get, written out here
/// rather than derived, so that a row added to the table needs a line here too.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("AWS::ECS::Cluster", "ecs.amazonaws.com", "UpsertSlrECS"),
    ("AWS::ECS::Service", "ecs.amazonaws.com", "UpsertSlrECS"),
    (
        "AWS::ECS::CapacityProvider",
        "ecs.amazonaws.com",
        "UpsertSlrECS",
    ),
    (
        "AWS::ElasticLoadBalancing::LoadBalancer",
        "elasticloadbalancing.amazonaws.com",
        "UpsertSlrElasticLoadBalancing",
    ),
    (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "elasticloadbalancing.amazonaws.com",
        "UpsertSlrElasticLoadBalancing",
    ),
    (
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "elasticloadbalancing.amazonaws.com",
        "UpsertSlrElasticLoadBalancing",
    ),
    (
        "AWS::AutoScaling::AutoScalingGroup",
        "autoscaling.amazonaws.com",
        "UpsertSlrAutoScaling",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "ecs.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingECSService",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "dynamodb.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingDynamoDBTable",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "lambda.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingLambdaConcurrency",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "rds.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingRDSCluster",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "ec2.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingEC2SpotFleetRequest",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "elasticache.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingElastiCacheRG",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "kafka.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingKafkaCluster",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "neptune.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingNeptuneCluster",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "sagemaker.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingSageMakerEndpoint",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "appstream.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingAppStreamFleet",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "comprehend.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingComprehendEndpoint",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "cassandra.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingCassandraTable",
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "custom-resource.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingCustomResource",
    ),
    ("AWS::RDS::DBInstance", "rds.amazonaws.com", "UpsertSlrRDS"),
    ("AWS::RDS::DBCluster", "rds.amazonaws.com", "UpsertSlrRDS"),
    (
        "AWS::Neptune::DBCluster",
        "rds.amazonaws.com",
        "UpsertSlrRDS",
    ),
    (
        "AWS::Neptune::DBInstance",
        "rds.amazonaws.com",
        "UpsertSlrRDS",
    ),
    (
        "AWS::OpenSearchService::Domain",
        "opensearchservice.amazonaws.com",
        "UpsertSlrAmazonOpenSearchService",
    ),
    (
        "AWS::Elasticsearch::Domain",
        "opensearchservice.amazonaws.com",
        "UpsertSlrAmazonOpenSearchService",
    ),
    (
        "AWS::EKS::Cluster",
        "eks.amazonaws.com",
        "UpsertSlrAmazonEKS",
    ),
    (
        "AWS::EKS::Nodegroup",
        "eks-nodegroup.amazonaws.com",
        "UpsertSlrAmazonEKSNodegroup",
    ),
    (
        "AWS::EKS::FargateProfile",
        "eks-fargate.amazonaws.com",
        "UpsertSlrAmazonEKSForFargate",
    ),
    (
        "AWS::EFS::MountTarget",
        "elasticfilesystem.amazonaws.com",
        "UpsertSlrAmazonElasticFileSystem",
    ),
    (
        "AWS::Redshift::Cluster",
        "redshift.amazonaws.com",
        "UpsertSlrRedshift",
    ),
    (
        "AWS::Redshift::EndpointAccess",
        "redshift.amazonaws.com",
        "UpsertSlrRedshift",
    ),
    ("AWS::MSK::Cluster", "kafka.amazonaws.com", "UpsertSlrKafka"),
    (
        "AWS::EC2::SpotFleet",
        "spotfleet.amazonaws.com",
        "UpsertSlrEC2SpotFleet",
    ),
    (
        "AWS::ElastiCache::CacheCluster",
        "elasticache.amazonaws.com",
        "UpsertSlrElastiCache",
    ),
    (
        "AWS::ElastiCache::ReplicationGroup",
        "elasticache.amazonaws.com",
        "UpsertSlrElastiCache",
    ),
    (
        "AWS::Batch::ComputeEnvironment",
        "batch.amazonaws.com",
        "UpsertSlrBatch",
    ),
];

/// Properties that meet every clause of `row`.
fn meeting(row: &needs::Row) -> Value {
    let mut properties = json!({"Name": "example"});
    for clause in &row.when {
        match (clause.is, &clause.one_of) {
            (Some(needs::Presence::Present), _) => {
                properties[&clause.property] = json!({"SubnetIds": ["subnet-1"]})
            }
            (Some(needs::Presence::Absent), _) => {}
            (None, Some(values)) => properties[&clause.property] = json!(values[0]),
            (None, None) => unreachable!("the table is checked"),
        }
    }
    properties
}

#[test]
fn every_row_of_the_table_adds_its_role() {
    let rows = needs::table().unwrap();
    let listed: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.resource_type.as_str(), r.service.as_str()))
        .collect();
    let expected: Vec<(&str, &str)> = EXPECTED.iter().map(|(t, s, _)| (*t, *s)).collect();
    assert_eq!(
        listed, expected,
        "the table and this test list different rows"
    );

    for (row, (_, _, id)) in rows.iter().zip(EXPECTED) {
        let properties = meeting(row);
        let event = json!({
            "region": "us-east-1", "accountId": "123456789012",
            "transformId": "123456789012::UpsertSlr", "requestId": "row",
            "params": {}, "templateParameterValues": {},
            "fragment": {"Resources": {"Needs": {"Type": row.resource_type, "Properties": properties}}},
        });
        let expected = json!({
            "requestId": "row",
            "status": "success",
            "fragment": {"Resources": {
                "Needs": {"Type": row.resource_type, "Properties": properties, "DependsOn": id},
                *id: {
                    "Type": "Custom::ServiceLinkedRole",
                    "Properties": {"ServiceToken": TOKEN, "ServiceTimeout": 600, "AWSServiceName": row.service},
                },
            }},
        });
        assert_eq!(answer(&event), expected, "{row:?}");

        // The same resource with its clauses unmet (when it has any) gets no role.
        if !row.when.is_empty() {
            let mut unmet = event.clone();
            let props = &mut unmet["fragment"]["Resources"]["Needs"]["Properties"];
            for clause in &row.when {
                match clause.is {
                    Some(needs::Presence::Present) => {
                        props.as_object_mut().unwrap().remove(&clause.property);
                    }
                    Some(needs::Presence::Absent) => {
                        props[&clause.property] = json!("arn:aws:iam::123456789012:role/mine")
                    }
                    None => props[&clause.property] = json!("workspaces"),
                }
            }
            let got = answer(&unmet);
            assert_eq!(got["fragment"], unmet["fragment"], "{row:?}");
        }
    }
}

#[test]
fn a_sample_event_is_answered() {
    let path = format!("{}/events/macro.json", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(macro_event::is_macro_event(&event));
    let got = answer(&event);
    assert_eq!(got["status"], "success", "{got}");
    assert_eq!(got["requestId"], event["requestId"]);
}

/// The table as docs/macro.md shows it, between its two markers.
fn rendered_table() -> String {
    let mut out = String::from(
        "| resource type | when | `AWSServiceName` | role | source |\n|---|---|---|---|---|\n",
    );
    for row in needs::table().unwrap() {
        let when: Vec<String> = row
            .when
            .iter()
            .map(|clause| match (clause.is, &clause.one_of) {
                (Some(needs::Presence::Present), _) => format!("`{}` given", clause.property),
                (Some(needs::Presence::Absent), _) => format!("no `{}`", clause.property),
                (None, Some(values)) => {
                    let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                    format!("`{}` = {}", clause.property, values.join(" or "))
                }
                (None, None) => unreachable!("the table is checked"),
            })
            .collect();
        let when = if when.is_empty() {
            "always".to_string()
        } else {
            when.join(", ")
        };
        let page = row
            .source
            .trim_start_matches("https://docs.aws.amazon.com/");
        out += &format!(
            "| `{}` | {when} | `{}` | `{}` | [{page}]({}) |\n",
            row.resource_type, row.service, row.role_name, row.source
        );
    }
    out
}

#[test]
fn the_docs_show_the_table_as_slr_needs_json_has_it() {
    const BEGIN: &str = "<!-- slr-needs.json table: begin -->\n";
    const END: &str = "<!-- slr-needs.json table: end -->";
    let page =
        std::fs::read_to_string(format!("{}/docs/macro.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let start = page
        .find(BEGIN)
        .expect("docs/macro.md has no table begin marker")
        + BEGIN.len();
    let end = page[start..]
        .find(END)
        .expect("docs/macro.md has no table end marker")
        + start;
    let expected = rendered_table();
    assert!(
        page[start..end] == expected,
        "docs/macro.md's table differs from slr-needs.json; it should read:\n{expected}"
    );
}
