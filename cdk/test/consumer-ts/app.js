"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
// A user's app: two roles, one of them with every option, synthesized into $CDK_OUTDIR.
const aws_cdk_lib_1 = require("aws-cdk-lib");
const upsert_slr_cdk_1 = require("upsert-slr-cdk");
const app = new aws_cdk_lib_1.App();
const stack = new aws_cdk_lib_1.Stack(app, 'UpsertSlrTypeScript');
const ecs = new upsert_slr_cdk_1.ServiceLinkedRole(stack, 'EcsRole', {
    awsServiceName: 'ecs.amazonaws.com',
    description: 'Service-linked role for Amazon ECS',
});
new upsert_slr_cdk_1.ServiceLinkedRole(stack, 'AutoScalingRole', {
    awsServiceName: 'autoscaling.amazonaws.com',
    customSuffix: 'consumer',
    propagationWait: aws_cdk_lib_1.Duration.seconds(30),
    removalPolicy: aws_cdk_lib_1.RemovalPolicy.DESTROY,
});
new aws_cdk_lib_1.CfnOutput(stack, 'EcsRoleArn', { value: ecs.roleArn });
app.synth();
