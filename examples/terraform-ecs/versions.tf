terraform {
  # The module states its own floor (Terraform 1.3, the AWS provider 5.32.0); a root
  # configuration pins the provider's major version it was checked against.
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 6.0" }
  }
}
