terraform {
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # logging_config on aws_lambda_function (JSON logs into a named group) came in 5.32.0.
      version = ">= 5.32.0"
    }
  }
}
