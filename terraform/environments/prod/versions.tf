terraform {
  # 1.10+ for S3-native state locking (use_lockfile) in the backend.
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.90"
    }
  }

  # Partial configuration: the bucket, key and Region come from backend.hcl (copy
  # backend.hcl.example) so no account-specific name is committed:
  #   terraform init -backend-config=backend.hcl
  backend "s3" {}
}
