# An ECS service on Fargate. In a fresh account its first apply fails without the role:
# ECS creates AWSServiceRoleForECS late, and IAM has not propagated it when the service is
# created ("Unable to assume the service linked role"). Here the module creates the role, or
# adopts it, and answers once it has propagated; the cluster and the service wait for it.

provider "aws" {
  region = var.region
}

module "service_linked_roles" {
  source = "../../terraform"

  zip_path     = var.zip_path
  architecture = var.architecture
  owner        = var.owner
  services = {
    ecs = {
      service     = "ecs.amazonaws.com"
      description = "Role for ECS, declared by the terraform-ecs example"
    }
  }
}

resource "aws_ecs_cluster" "this" {
  name = "upsert-slr-example"

  # Per-task CPU, memory and network metrics in CloudWatch.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  depends_on = [module.service_linked_roles]
}

resource "aws_ecs_task_definition" "web" {
  family                   = "upsert-slr-example"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  container_definitions = jsonencode([{
    name         = "web"
    image        = var.image
    essential    = true
    portMappings = [{ containerPort = 80 }]
  }])
}

resource "aws_security_group" "tasks" {
  name_prefix = "upsert-slr-example-"
  description = "Tasks of the terraform-ecs example (outbound only)"
  vpc_id      = var.vpc_id

  # The task only pulls its image and talks HTTPS; the VPC's DNS resolver is not subject to
  # security groups.
  egress {
    description = "HTTPS, to pull the image and reach AWS APIs"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_service" "web" {
  name            = "web"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.web.arn
  launch_type     = "FARGATE"
  desired_count   = 1

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = var.assign_public_ip
  }

  # The role must have propagated before ECS places the service's tasks.
  depends_on = [module.service_linked_roles]
}
