// An ECS service on Fargate. In a fresh account its first deployment fails without the role:
// ECS creates AWSServiceRoleForECS late, and IAM has not propagated it when the service is
// created. The invocation below creates or adopts the role and answers once it has
// propagated; the cluster and the service wait for it.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const subnetIds = config.requireObject<string[]>("subnetIds");
const assignPublicIp = config.getBoolean("assignPublicIp") ?? true;

// The result the function gives an aws_lambda_invocation (docs/terraform.md).
interface UpsertedRole {
  RoleName: string;
  Arn: string;
  Created: string | boolean;
}

// The same provider resource as Terraform's: CRUD invokes on create, update and delete, with
// {action, prev_input} under "tf" (terraformKey's default) added to the input.
const ecsRole = new aws.lambda.Invocation("ecs-service-linked-role", {
  functionName: config.require("upsertSlrFunction"),
  lifecycleScope: "CRUD",
  input: JSON.stringify({
    AWSServiceName: "ecs.amazonaws.com",
    Description: "Role for ECS, declared by the pulumi-ecs example",
    // Project and stack name this program's resource in the account: without an Owner the
    // function never deletes the role.
    Owner: `${pulumi.getProject()}/${pulumi.getStack()}/ecs`,
  }),
  // Another service or suffix is another role: replaced, as in the Terraform module.
  triggers: { role: "ecs.amazonaws.com" },
});
const role = ecsRole.result.apply((r) => JSON.parse(r) as UpsertedRole);

const cluster = new aws.ecs.Cluster(
  "cluster",
  { settings: [{ name: "containerInsights", value: "enabled" }] },
  { dependsOn: [ecsRole] },
);

const taskDefinition = new aws.ecs.TaskDefinition("web", {
  family: "upsert-slr-pulumi-example",
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  cpu: "256",
  memory: "512",
  containerDefinitions: JSON.stringify([
    {
      name: "web",
      image: config.get("image") ?? "amazon/amazon-ecs-sample",
      essential: true,
      portMappings: [{ containerPort: 80 }],
    },
  ]),
});

// The task only pulls its image and talks HTTPS.
const tasks = new aws.ec2.SecurityGroup("tasks", {
  description: "Tasks of the pulumi-ecs example (outbound only)",
  vpcId: config.require("vpcId"),
  egress: [
    {
      description: "HTTPS, to pull the image and reach AWS APIs",
      protocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrBlocks: ["0.0.0.0/0"],
    },
  ],
});

new aws.ecs.Service(
  "web",
  {
    cluster: cluster.arn,
    taskDefinition: taskDefinition.arn,
    launchType: "FARGATE",
    desiredCount: 1,
    networkConfiguration: { subnets: subnetIds, securityGroups: [tasks.id], assignPublicIp },
  },
  // The role must have propagated before ECS places the service's tasks.
  { dependsOn: [ecsRole] },
);

export const ecsServiceLinkedRoleArn = role.Arn;
export const ecsServiceLinkedRoleCreated = role.apply((r) => String(r.Created) === "true");
export const clusterName = cluster.name;
