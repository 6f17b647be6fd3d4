//! The cases of `tests/needs-cases.json`, which the CDK aspect's tests run too
//! (`cdk/test/aspect.test.ts`): each case through the table's rows and through the macro, a
//! template holding the one resource replayed to its exact answer. Every row of the table has a
//! case that meets it and, when it has a condition, one that does not.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use upsert_slr::config::Settings;
use upsert_slr::needs::{self, Verdict};
use upsert_slr::template::Itself;
use upsert_slr::transform;

const INVOKED_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr";

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
        "AWS::KMS::Key",
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
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "workspaces.application-autoscaling.amazonaws.com",
        "UpsertSlrApplicationAutoScalingWorkSpacesPool",
    ),
    ("AWS::RDS::DBInstance", "rds.amazonaws.com", "UpsertSlrRDS"),
    ("AWS::RDS::DBCluster", "rds.amazonaws.com", "UpsertSlrRDS"),
    (
        "AWS::RDS::DBSubnetGroup",
        "rds.amazonaws.com",
        "UpsertSlrRDS",
    ),
    (
        "AWS::RDS::DBInstance",
        "custom.rds.amazonaws.com",
        "UpsertSlrRDSCustom",
    ),
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
    ("AWS::DocDB::DBCluster", "rds.amazonaws.com", "UpsertSlrRDS"),
    (
        "AWS::DocDB::DBInstance",
        "rds.amazonaws.com",
        "UpsertSlrRDS",
    ),
    (
        "AWS::DocDBElastic::Cluster",
        "docdb-elastic.amazonaws.com",
        "UpsertSlrDocDBElastic",
    ),
    (
        "AWS::OpenSearchService::Domain",
        "opensearchservice.amazonaws.com",
        "UpsertSlrAmazonOpenSearchService",
    ),
    (
        "AWS::Elasticsearch::Domain",
        "es.amazonaws.com",
        "UpsertSlrAmazonElasticsearchService",
    ),
    (
        "AWS::EKS::Cluster",
        "eks.amazonaws.com",
        "UpsertSlrAmazonEKS",
    ),
    (
        "AWS::EKS::Cluster",
        "outposts.eks-local.amazonaws.com",
        "UpsertSlrAmazonEKSLocalOutpost",
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
        "AWS::EFS::FileSystem",
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
        "AWS::KafkaConnect::Connector",
        "kafkaconnect.amazonaws.com",
        "UpsertSlrKafkaConnect",
    ),
    (
        "AWS::EC2::SpotFleet",
        "spotfleet.amazonaws.com",
        "UpsertSlrEC2SpotFleet",
    ),
    (
        "AWS::EC2::SpotFleet",
        "spot.amazonaws.com",
        "UpsertSlrEC2Spot",
    ),
    (
        "AWS::EC2::LaunchTemplate",
        "spot.amazonaws.com",
        "UpsertSlrEC2Spot",
    ),
    (
        "AWS::EC2::EC2Fleet",
        "ec2fleet.amazonaws.com",
        "UpsertSlrEC2Fleet",
    ),
    (
        "AWS::EC2::EC2Fleet",
        "spot.amazonaws.com",
        "UpsertSlrEC2Spot",
    ),
    (
        "AWS::Batch::ComputeEnvironment",
        "batch.amazonaws.com",
        "UpsertSlrBatch",
    ),
    (
        "AWS::Batch::ComputeEnvironment",
        "spot.amazonaws.com",
        "UpsertSlrEC2Spot",
    ),
    (
        "AWS::Batch::ComputeEnvironment",
        "spotfleet.amazonaws.com",
        "UpsertSlrEC2SpotFleet",
    ),
    (
        "AWS::EMR::Cluster",
        "elasticmapreduce.amazonaws.com",
        "UpsertSlrEMRCleanup",
    ),
    (
        "AWS::EMR::Cluster",
        "spot.amazonaws.com",
        "UpsertSlrEC2Spot",
    ),
    (
        "AWS::EMR::InstanceGroupConfig",
        "spot.amazonaws.com",
        "UpsertSlrEC2Spot",
    ),
    (
        "AWS::EMR::InstanceFleetConfig",
        "spot.amazonaws.com",
        "UpsertSlrEC2Spot",
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
        "AWS::ElastiCache::SubnetGroup",
        "elasticache.amazonaws.com",
        "UpsertSlrElastiCache",
    ),
    (
        "AWS::ElastiCache::ServerlessCache",
        "elasticache.amazonaws.com",
        "UpsertSlrElastiCache",
    ),
    (
        "AWS::MemoryDB::Cluster",
        "memorydb.amazonaws.com",
        "UpsertSlrMemoryDB",
    ),
    (
        "AWS::EC2::TransitGatewayVpcAttachment",
        "transitgateway.amazonaws.com",
        "UpsertSlrVPCTransitGateway",
    ),
    (
        "AWS::EC2::TransitGatewayAttachment",
        "transitgateway.amazonaws.com",
        "UpsertSlrVPCTransitGateway",
    ),
    (
        "AWS::Config::ConfigurationRecorder",
        "config.amazonaws.com",
        "UpsertSlrConfig",
    ),
    (
        "AWS::DMS::ReplicationConfig",
        "dms.amazonaws.com",
        "UpsertSlrDMSServerless",
    ),
    (
        "AWS::ElasticBeanstalk::Environment",
        "elasticbeanstalk.amazonaws.com",
        "UpsertSlrElasticBeanstalk",
    ),
    (
        "AWS::ElasticBeanstalk::Environment",
        "maintenance.elasticbeanstalk.amazonaws.com",
        "UpsertSlrElasticBeanstalkMaintenance",
    ),
    (
        "AWS::ElasticBeanstalk::Environment",
        "managedupdates.elasticbeanstalk.amazonaws.com",
        "UpsertSlrElasticBeanstalkManagedUpdates",
    ),
    (
        "AWS::GlobalAccelerator::Accelerator",
        "globalaccelerator.amazonaws.com",
        "UpsertSlrGlobalAccelerator",
    ),
    (
        "AWS::AmazonMQ::Broker",
        "mq.amazonaws.com",
        "UpsertSlrAmazonMQ",
    ),
    (
        "AWS::AppRunner::VpcConnector",
        "networking.apprunner.amazonaws.com",
        "UpsertSlrAppRunnerNetworking",
    ),
    (
        "AWS::VpcLattice::ServiceNetwork",
        "vpc-lattice.amazonaws.com",
        "UpsertSlrVpcLattice",
    ),
    (
        "AWS::VpcLattice::Service",
        "vpc-lattice.amazonaws.com",
        "UpsertSlrVpcLattice",
    ),
    (
        "AWS::VpcLattice::TargetGroup",
        "vpc-lattice.amazonaws.com",
        "UpsertSlrVpcLattice",
    ),
    (
        "AWS::GuardDuty::Detector",
        "guardduty.amazonaws.com",
        "UpsertSlrAmazonGuardDuty",
    ),
    (
        "AWS::SecurityHub::Hub",
        "securityhub.amazonaws.com",
        "UpsertSlrSecurityHub",
    ),
    (
        "AWS::LakeFormation::Resource",
        "lakeformation.amazonaws.com",
        "UpsertSlrLakeFormationDataAccess",
    ),
    (
        "AWS::OpenSearchServerless::Collection",
        "observability.aoss.amazonaws.com",
        "UpsertSlrAmazonOpenSearchServerless",
    ),
];

#[derive(Debug)]
struct Case {
    resource_type: String,
    /// None: the resource has no Properties.
    properties: Option<Value>,
    parameters: Map<String, Value>,
    expect: BTreeSet<String>,
    undecided: BTreeSet<String>,
    note: String,
}

fn cases() -> Vec<Case> {
    let path = format!("{}/tests/needs-cases.json", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let strings = |value: &Value| -> BTreeSet<String> {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let cases: Vec<Case> = file["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| Case {
            resource_type: case["resourceType"].as_str().unwrap().to_string(),
            properties: Some(case["properties"].clone()).filter(|p| !p.is_null()),
            parameters: case["parameters"].as_object().cloned().unwrap_or_default(),
            expect: strings(&case["expect"]),
            undecided: strings(&case["undecided"]),
            note: case["note"].as_str().unwrap().to_string(),
        })
        .collect();
    assert!(cases.len() >= 100, "{}", cases.len());
    cases
}

/// The services whose rows apply to `case` (hold or are undecided), and those undecided.
fn decided(case: &Case) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut apply, mut undecided) = (BTreeSet::new(), BTreeSet::new());
    for row in needs::table().unwrap() {
        if row.resource_type != case.resource_type {
            continue;
        }
        let properties = case.properties.as_ref().and_then(Value::as_object);
        match row.verdict(properties, &case.parameters) {
            Verdict::Fails => {}
            Verdict::Holds => {
                apply.insert(row.service.clone());
            }
            Verdict::Undecided => {
                apply.insert(row.service.clone());
                undecided.insert(row.service.clone());
            }
        }
    }
    (apply, undecided)
}

#[test]
fn the_rows_are_the_ones_listed_here() {
    let listed: Vec<(&str, &str)> = needs::table()
        .unwrap()
        .iter()
        .map(|r| (r.resource_type.as_str(), r.service.as_str()))
        .collect();
    let expected: Vec<(&str, &str)> = EXPECTED.iter().map(|(t, s, _)| (*t, *s)).collect();
    assert_eq!(
        listed, expected,
        "the table and this test list different rows"
    );
}

#[test]
fn every_case_is_decided_as_written() {
    for case in cases() {
        let (apply, undecided) = decided(&case);
        assert_eq!(
            (&apply, &undecided),
            (&case.expect, &case.undecided),
            "{} {:?} ({})",
            case.resource_type,
            case.properties,
            case.note
        );
    }
}

#[test]
fn every_row_has_a_case_that_meets_it_and_one_that_does_not() {
    let cases = cases();
    for row in needs::table().unwrap() {
        let verdicts: Vec<Verdict> = cases
            .iter()
            .filter(|c| c.resource_type == row.resource_type)
            .map(|c| {
                row.verdict(
                    c.properties.as_ref().and_then(Value::as_object),
                    &c.parameters,
                )
            })
            .collect();
        assert!(
            verdicts.contains(&Verdict::Holds),
            "no case meets {} {}",
            row.resource_type,
            row.service
        );
        assert!(
            row.when.is_empty() || verdicts.contains(&Verdict::Fails),
            "no case leaves {} {} unmet",
            row.resource_type,
            row.service
        );
    }
}

fn settings() -> Settings {
    Settings::from_lookup(|name| (name == "UPSERT_SLR_FUNCTION_TIMEOUT").then(|| "300".into()))
}

#[test]
fn every_case_gets_its_roles_from_the_macro() {
    let ids: BTreeMap<&str, &str> = EXPECTED.iter().map(|(_, s, id)| (*s, *id)).collect();
    let settings = settings();
    let itself = Itself {
        function_arn: INVOKED_ARN,
        settings: &settings,
    };
    for (n, case) in cases().iter().enumerate() {
        let mut needs = json!({"Type": case.resource_type});
        if let Some(properties) = &case.properties {
            needs["Properties"] = properties.clone();
        }
        let event = json!({
            "region": "us-east-1", "accountId": "123456789012",
            "transformId": "123456789012::UpsertSlr", "requestId": format!("case-{n}"),
            "params": {}, "templateParameterValues": case.parameters,
            "fragment": {"Resources": {"Needs": needs}},
        });
        // The roles in the order of their services' names, as the macro adds them.
        let mut services: Vec<&String> = case.expect.iter().collect();
        services.sort_by_key(|s| s.to_ascii_lowercase());
        let roles: Vec<&str> = services.iter().map(|s| ids[s.as_str()]).collect();
        let mut resources = json!({"Needs": needs});
        match &roles[..] {
            [] => {}
            [one] => resources["Needs"]["DependsOn"] = json!(one),
            many => resources["Needs"]["DependsOn"] = json!(many),
        }
        for (service, id) in services.iter().zip(&roles) {
            resources[*id] = json!({
                "Type": "Custom::ServiceLinkedRole",
                "Properties": {
                    "ServiceToken": INVOKED_ARN, "ServiceTimeout": 600, "AWSServiceName": service,
                },
            });
        }
        let expected = json!({
            "requestId": format!("case-{n}"), "status": "success",
            "fragment": {"Resources": resources},
        });
        let got = transform(&event, itself).to_json();
        assert_eq!(
            got, expected,
            "{} {:?} ({})",
            case.resource_type, case.properties, case.note
        );
    }
}
